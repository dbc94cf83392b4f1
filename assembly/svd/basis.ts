// Orthonormal bases for the randomized SVDs. A basis of `cols` vectors of length
// `len` is stored transposed (cols×len, one vector a row): the layout qr() works
// on, and the one whose Gram products are GEMMs.

import { alloc, mark, release, paddedBytes } from '../arena';
import { gemm, gemmScratchBytes } from '../gemm/driver';
import { gemmF64, gemmF64ScratchBytes } from '../gemm/gemm-f64';
import { qr, applyQ } from './householder';
import { svd, svdScratchBytes, fixSigns, unitRoundoff, SVD_OUT_OF_MEMORY } from './svd';
import { set } from './vec';

/** C = op(A)·op(B) in T; false when out of memory. */
@inline export function mm<T>(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool): bool {
  if (sizeof<T>() == 8) return gemmF64(a, b, c, m, k, n, transA, transB) == 0;
  return gemm(a, b, c, m, k, n, transA, transB, 0) == 0;
}

/**
 * Overwrites the `cols` rows of length `len` in w with an orthonormal basis of
 * their span: Householder QR, then Q formed explicitly in `q` (cols×len
 * scratch). `tau`, `perm`: cols slots.
 */
export function orthonormalize<T>(w: usize, len: i32, cols: i32, tau: usize, perm: usize, q: usize): void {
  const sz = sizeof<T>();
  qr<T>(w, len, len, cols, tau, perm, false, 0, unitRoundoff<T>());
  for (let j = 0; j < cols; j++) {
    const row = q + <usize>j * <usize>len * sz;
    memory.fill(row, 0, <usize>len * sz);
    set<T>(row, j, 1);
    applyQ<T>(w, len, len, cols, tau, row);
  }
  memory.copy(w, q, <usize>cols * <usize>len * sz);
}

/**
 * w ← w − Qᵀ·(Q·wᵀ)ᵀ: removes from the `cols` rows of w (length len) their
 * components along the `basis` orthonormal rows of q (one classical
 * Gram–Schmidt pass as two GEMMs). `c`: basis×cols scratch, `d`: cols×len.
 * False when out of memory.
 */
export function projectOut<T>(q: usize, basis: i32, w: usize, cols: i32, len: i32, c: usize, d: usize): bool {
  if (basis == 0) return true;
  if (!mm<T>(q, w, c, basis, len, cols, false, true)) return false;   // C = Q·wᵀ
  if (!mm<T>(c, q, d, cols, basis, len, true, false)) return false;   // D = Cᵀ·Q
  const count = <usize>cols * <usize>len;
  if (sizeof<T>() == 4) {
    let i: usize = 0;
    for (; i + 4 <= count; i += 4) v128.store(w + (i << 2), f32x4.sub(v128.load(w + (i << 2)), v128.load(d + (i << 2))));
    for (; i < count; i++) store<f32>(w + (i << 2), load<f32>(w + (i << 2)) - load<f32>(d + (i << 2)));
  } else {
    let i: usize = 0;
    for (; i + 2 <= count; i += 2) v128.store(w + (i << 3), f64x2.sub(v128.load(w + (i << 3)), v128.load(d + (i << 3))));
    for (; i < count; i++) store<f64>(w + (i << 3), load<f64>(w + (i << 3)) - load<f64>(d + (i << 3)));
  }
  return true;
}

/**
 * The last step of both range finders: with B = Qᵀ·A (l×n) for an orthonormal
 * basis Q (m×l), B = Û·Σ·V̂ᵀ (svd.ts), and the rank-k SVD of A is S = Σ[:k],
 * U = Q·Û[:, :k] (m×k), Vt = V̂ᵀ[:k] (k×n). `q`: Q row-major (m×l), or Qᵀ (l×m)
 * when `qTransposed`. Returns the Jacobi sweeps on B or SVD_OUT_OF_MEMORY.
 */
export function svdFromRange<T>(
  q: usize, qTransposed: bool, bm: usize, m: i32, n: i32, l: i32, k: i32,
  wantUV: bool, sOut: usize, uOut: usize, vtOut: usize, maxSweeps: i32,
): i32 {
  const sz = sizeof<T>();
  const saved = mark();
  const sB = alloc(<usize>l * sz);
  const uB = wantUV ? alloc(<usize>l * <usize>l * sz) : 1;
  const vtB = wantUV ? alloc(<usize>l * <usize>n * sz) : 1;
  const uBk = wantUV ? alloc(<usize>l * <usize>k * sz) : 1;
  if (sB == 0 || uB == 0 || vtB == 0 || uBk == 0) { release(saved); return SVD_OUT_OF_MEMORY; }
  const sweeps = svd<T>(bm, l, n, wantUV, sB, uB, vtB, maxSweeps);
  if (sweeps == SVD_OUT_OF_MEMORY) { release(saved); return sweeps; }
  memory.copy(sOut, sB, <usize>k * sz);
  if (wantUV) {
    for (let i = 0; i < l; i++) memory.copy(uBk + <usize>i * <usize>k * sz, uB + <usize>i * <usize>l * sz, <usize>k * sz);
    if (!mm<T>(q, uBk, uOut, m, l, k, qTransposed, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    memory.copy(vtOut, vtB, <usize>k * <usize>n * sz);
    fixSigns<T>(uOut, vtOut, m, n, k);
  }
  release(saved);
  return sweeps;
}

/** Arena bytes mm<T>() allocates. */
export function mmScratchBytes<T>(m: i32, k: i32, n: i32, transA: bool, transB: bool): f64 {
  return sizeof<T>() == 8 ? gemmF64ScratchBytes(k, n, transB) : gemmScratchBytes(m, k, n, transA, false);
}

/** Arena bytes projectOut<T>() allocates (its two products). */
export function projectOutScratchBytes<T>(basis: i32, len: i32, cols: i32): f64 {
  return max(mmScratchBytes<T>(basis, len, cols, false, true), mmScratchBytes<T>(cols, basis, len, true, false));
}

/** Arena bytes svdFromRange<T>() allocates: B's SVD (l×n) and U = Q·Û_k. */
export function svdFromRangeScratchBytes<T>(m: i32, n: i32, l: i32, k: i32, wantUV: bool, qTransposed: bool): f64 {
  const sz = sizeof<T>();
  const own = paddedBytes(<f64>l * sz) + (wantUV ? paddedBytes(<f64>l * <f64>l * sz) + paddedBytes(<f64>l * <f64>n * sz) + paddedBytes(<f64>l * <f64>k * sz) : 0);
  return own + max(svdScratchBytes<T>(l, n, wantUV), wantUV ? mmScratchBytes<T>(m, l, k, qTransposed, false) : 0);
}
