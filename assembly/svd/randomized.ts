// Rank-k SVD by randomized subspace iteration (Halko, Martinsson & Tropp 2011,
// Alg. 4.4) with Jacobi on the small matrix:
//   Ω (n×ℓ) Gaussian, ℓ = k + oversample;  Q = orth(A·Ω);
//   q times: Q = orth(A·orth(Aᵀ·Q))   (re-orthonormalised between products);
//   B = Qᵀ·A (ℓ×n);  B = Û·Σ·Vᵀ (svd.ts);  U = Q·Û;  keep the first k.
// Orthonormalisation is Householder QR with Q formed explicitly. All heavy work
// is matrix products with skinny shapes (m×n·n×ℓ, ℓ×m·m×n): the GEMM driver for
// f32, gemm-f64.ts for f64. Every matrix whose columns are needed is kept
// transposed (rows = columns), which is the layout qr() works on.

import { alloc, mark, release } from '../arena';
import { gemm } from '../gemm/driver';
import { gemmF64 } from '../gemm/gemm-f64';
import { qr, applyQ } from './householder';
import { svd, fixSigns, unitRoundoff, SVD_OUT_OF_MEMORY } from './svd';
import { gaussian, seedRng } from './rng';
import { set } from './vec';

/** C = op(A)·op(B) in T; false when out of memory. */
@inline function mm<T>(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool): bool {
  if (sizeof<T>() == 8) return gemmF64(a, b, c, m, k, n, transA, transB) == 0;
  return gemm(a, b, c, m, k, n, transA, transB, 0) == 0;
}

/**
 * Overwrites the `cols` rows of length `len` in w (the columns of a len×cols
 * matrix) with an orthonormal basis of their span: Householder QR, then Q
 * formed explicitly in `q` (cols×len scratch). `tau`, `perm`: cols slots.
 */
function orthonormalize<T>(w: usize, len: i32, cols: i32, tau: usize, perm: usize, q: usize): void {
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
 * Rank-k SVD of the row-major m×n `a`: S (k), and when wantUV, U (m×k) and Vt (k×n).
 * Returns the Jacobi sweeps on B (negative when not converged) or SVD_OUT_OF_MEMORY.
 */
export function randomizedSvd<T>(
  a: usize, m: i32, n: i32, k: i32, oversample: i32, powerIters: i32, seed: u64,
  wantUV: bool, sOut: usize, uOut: usize, vtOut: usize, maxSweeps: i32,
): i32 {
  const sz = sizeof<T>();
  const l = min(k + oversample, min(m, n));
  const saved = mark();
  const omega = alloc(<usize>n * <usize>l * sz);
  const qt = alloc(<usize>l * <usize>m * sz);   // Qᵀ: rows = columns of Q
  const zt = alloc(<usize>l * <usize>n * sz);   // (Aᵀ·Q)ᵀ, then B = Qᵀ·A
  const scratch = alloc(<usize>l * <usize>max(m, n) * sz);
  const tau = alloc(<usize>l << 3);
  const perm = alloc(<usize>l << 2);
  const sB = alloc(<usize>l * sz);
  const uB = wantUV ? alloc(<usize>l * <usize>l * sz) : 1;
  const vtB = wantUV ? alloc(<usize>l * <usize>n * sz) : 1;
  const uBk = wantUV ? alloc(<usize>l * <usize>k * sz) : 1;
  if (omega == 0 || qt == 0 || zt == 0 || scratch == 0 || tau == 0 || perm == 0 || sB == 0 || uB == 0 || vtB == 0 || uBk == 0) {
    release(saved);
    return SVD_OUT_OF_MEMORY;
  }
  seedRng(seed);
  gaussian<T>(omega, n * l);
  // Qᵀ = orth((A·Ω))ᵀ, computed as Ωᵀ·Aᵀ (ℓ×m).
  if (!mm<T>(omega, a, qt, l, n, m, true, true)) { release(saved); return SVD_OUT_OF_MEMORY; }
  orthonormalize<T>(qt, m, l, tau, perm, scratch);
  for (let it = 0; it < powerIters; it++) {
    // Zᵀ = Qᵀ·A (ℓ×n), orthonormalised; then Qᵀ = (A·Z)ᵀ = Zᵀ·Aᵀ (ℓ×m), orthonormalised.
    if (!mm<T>(qt, a, zt, l, m, n, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    orthonormalize<T>(zt, n, l, tau, perm, scratch);
    if (!mm<T>(zt, a, qt, l, n, m, false, true)) { release(saved); return SVD_OUT_OF_MEMORY; }
    orthonormalize<T>(qt, m, l, tau, perm, scratch);
  }
  // B = Qᵀ·A (ℓ×n) and its SVD.
  if (!mm<T>(qt, a, zt, l, m, n, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
  const sweeps = svd<T>(zt, l, n, wantUV, sB, uB, vtB, maxSweeps);
  if (sweeps == SVD_OUT_OF_MEMORY) { release(saved); return sweeps; }
  memory.copy(sOut, sB, <usize>k * sz);
  if (wantUV) {
    // U = Q·Û[:, :k] (m×k) = (Qᵀ)ᵀ·Û_k;  Vt = first k rows of V̂ᵀ.
    for (let i = 0; i < l; i++) memory.copy(uBk + <usize>i * <usize>k * sz, uB + <usize>i * <usize>l * sz, <usize>k * sz);
    if (!mm<T>(qt, uBk, uOut, m, l, k, true, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    memory.copy(vtOut, vtB, <usize>k * <usize>n * sz);
    fixSigns<T>(uOut, vtOut, m, n, k);
  }
  release(saved);
  return sweeps;
}
