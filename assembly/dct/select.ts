// DCT-basis selection (SVD-free low-rank projection, arXiv 2505.17967):
// S = G·Dₙᵀ ('right': columns of S scored) or S = Dₘ·G ('left': rows scored),
// by a GEMM with the basis or by the FFT DCT; the r best-scored basis vectors
// are kept, ordered by score descending, ties by index ascending, and the
// projected gradient is read straight out of S.

import { alloc, mark, release, paddedBytes } from '../arena';
import { gemm, gemmScratchBytes } from '../gemm/driver';
import { transpose } from '../transpose';
import { sortIndexDesc } from '../sort';
import { dctRowsFft, dctRowsFftScratchBytes } from './dct2';
import { OK, OUT_OF_MEMORY } from '../status';


/** scores[j] = Σ_i |s[i][j]| (l1) or Σ_i s[i][j]² (l2), f64, for an rows×cols f32 matrix. */
function scoreColumns(s: usize, rows: i32, cols: i32, l2: bool, scores: usize): void {
  memory.fill(scores, 0, <usize>cols << 3);
  const c2 = cols & ~1;
  for (let i = 0; i < rows; i++) {
    const row = s + (<usize>i * <usize>cols << 2);
    for (let j = 0; j < c2; j += 2) {
      const p = scores + (<usize>j << 3);
      // Two f32 values promoted to f64.
      let v = f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2)));
      v = l2 ? f64x2.mul(v, v) : f64x2.abs(v);
      v128.store(p, f64x2.add(v128.load(p), v));
    }
    if (c2 < cols) {
      const v = <f64>load<f32>(row + (<usize>c2 << 2));
      const p = scores + (<usize>c2 << 3);
      store<f64>(p, load<f64>(p) + (l2 ? v * v : Math.abs(v)));
    }
  }
}

/** scores[i] = Σ_j |s[i][j]| (l1) or Σ_j s[i][j]² (l2) for an rows×cols f32 matrix. */
function scoreRows(s: usize, rows: i32, cols: i32, l2: bool, scores: usize): void {
  for (let i = 0; i < rows; i++) {
    const row = s + (<usize>i * <usize>cols << 2);
    let acc = 0.0;
    for (let j = 0; j < cols; j++) {
      const v = <f64>load<f32>(row + (<usize>j << 2));
      acc += l2 ? v * v : Math.abs(v);
    }
    store<f64>(scores + (<usize>i << 3), acc);
  }
}

/**
 * Selects r of the DCT basis vectors for the m×n gradient g.
 * left: S = Dₘ·G, rows scored, projected = S[idx, :] (r×n); else S = G·Dₙᵀ,
 * columns scored, projected = S[:, idx] (m×r). fft: the O(mn log n) path;
 * else the GEMM with `basis` (the n×n, or m×m when left, DCT basis).
 * Writes idx (i32 r), scores (f64, all candidates, by index) and projected.
 */
export function dctSelect(
  g: usize, m: i32, n: i32, r: i32, left: bool, l2: bool, fft: bool, basis: usize,
  idx: usize, scores: usize, projected: usize,
): i32 {
  const saved = mark();
  const count = left ? m : n;
  const s = alloc(<usize>m * <usize>n << 2);
  const order = alloc(<usize>count << 2), tmp = alloc(<usize>count << 2);
  if (s == 0 || order == 0 || tmp == 0) { release(saved); return OUT_OF_MEMORY; }
  // transposed: s holds Sᵀ (n×m) rather than S (m×n).
  let transposed = false;
  if (fft) {
    if (left) {
      // Columns of G are the DCT inputs: transform the rows of Gᵀ.
      const gt = alloc(<usize>m * <usize>n << 2);
      if (gt == 0) { release(saved); return OUT_OF_MEMORY; }
      transpose<f32>(g, m, n, gt);
      if (!dctRowsFft(gt, n, m, s)) { release(saved); return OUT_OF_MEMORY; }
      transposed = true;
    } else if (!dctRowsFft(g, m, n, s)) {
      release(saved);
      return OUT_OF_MEMORY;
    }
  } else {
    const status = left
      ? gemm(basis, g, s, m, m, n, false, false, 0)
      : gemm(g, basis, s, m, n, n, false, true, 0);
    if (status != 0) { release(saved); return OUT_OF_MEMORY; }
  }
  // Scores of the candidates: columns of S (right), rows of S (left).
  if (left && !transposed) scoreRows(s, m, n, l2, scores);
  else if (left) scoreColumns(s, n, m, l2, scores);
  else scoreColumns(s, m, n, l2, scores);
  for (let i = 0; i < count; i++) store<i32>(order + (<usize>i << 2), i);
  sortIndexDesc(scores, order, count, tmp);
  memory.copy(idx, order, <usize>r << 2);
  // Gather the projection.
  for (let t = 0; t < r; t++) {
    const k = load<i32>(idx + (<usize>t << 2));
    if (left) {
      // projected[t][:] = S[k][:]
      const dst = projected + (<usize>t * <usize>n << 2);
      if (transposed) {
        for (let j = 0; j < n; j++) store<f32>(dst + (<usize>j << 2), load<f32>(s + ((<usize>j * <usize>m + <usize>k) << 2)));
      } else {
        memory.copy(dst, s + (<usize>k * <usize>n << 2), <usize>n << 2);
      }
    } else {
      // projected[:][t] = S[:][k]
      for (let i = 0; i < m; i++) {
        store<f32>(projected + ((<usize>i * <usize>r + <usize>t) << 2), load<f32>(s + ((<usize>i * <usize>n + <usize>k) << 2)));
      }
    }
  }
  release(saved);
  return OK;
}

/** Arena bytes dctSelect() allocates. */
export function dctSelectScratchBytes(m: i32, n: i32, left: bool, fft: bool): f64 {
  const count = <f64>(left ? m : n);
  const mn = <f64>m * <f64>n * 4;
  const own = paddedBytes(mn) + 2 * paddedBytes(count * 4);
  if (fft) return own + (left ? paddedBytes(mn) + dctRowsFftScratchBytes(m) : dctRowsFftScratchBytes(n));
  return own + (left ? gemmScratchBytes(m, m, n, false, false) : gemmScratchBytes(m, n, n, false, false));
}
