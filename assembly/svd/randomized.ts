// Rank-k SVD by randomized subspace iteration (Halko, Martinsson & Tropp 2011,
// Alg. 4.4) with Jacobi on the small matrix:
//   Ω (n×ℓ) Gaussian, ℓ = k + oversample;  Q = orth(A·Ω);
//   q times: Q = orth(A·orth(Aᵀ·Q))   (re-orthonormalised between products);
//   B = Qᵀ·A (ℓ×n);  B = Û·Σ·Vᵀ (svd.ts);  U = Q·Û;  keep the first k.
// Orthonormalisation is Householder QR with Q formed explicitly. All heavy work
// is matrix products of a tall matrix (A or a copy of Aᵀ, read in place) with a
// skinny one (n×ℓ or m×ℓ): the GEMM driver for f32, gemm-f64.ts for f64. A basis
// is orthonormalised transposed (rows = columns), the layout qr() works on.

import { alloc, mark, release, paddedBytes } from '../arena';
import { NR } from '../gemm/params';
import { mm, mmScratchBytes, orthonormalize, svdFromRange, svdFromRangeScratchBytes } from './basis';
import { SVD_OUT_OF_MEMORY } from './svd';
import { gaussian, seedRng } from './rng';
import { transpose } from '../transpose';

/**
 * Rank-k SVD of the row-major m×n `a`: S (k), and when wantUV, U (m×k) and Vt (k×n).
 * Returns the Jacobi sweeps on B (negative when not converged) or SVD_OUT_OF_MEMORY.
 */
export function randomizedSvd<T>(
  a: usize, m: i32, n: i32, k: i32, oversample: i32, powerIters: i32, seed: u64,
  wantUV: bool, sOut: usize, uOut: usize, vtOut: usize, maxSweeps: i32,
): i32 {
  const sz = sizeof<T>();
  // ℓ = k + oversample, rounded up to the GEMM's panel width (NR = 8): the
  // products pad the skinny operand to whole panels anyway, so the extra
  // columns come free and only make the range finder more accurate.
  const l = min((k + oversample + NR - 1) / NR * NR, min(m, n));
  const saved = mark();
  // Aᵀ is kept once, so that both products of an iteration, A·Z and Aᵀ·Q, read a
  // row-major matrix in place and pack only the skinny operand.
  const at = alloc(<usize>n * <usize>m * sz);
  const omega = alloc(<usize>n * <usize>l * sz);
  const y = alloc(<usize>m * <usize>l * sz);    // A·Z, then Q (m×ℓ)
  const qt = alloc(<usize>l * <usize>m * sz);   // Qᵀ: rows = columns of Q
  const z = alloc(<usize>n * <usize>l * sz);    // Aᵀ·Q (n×ℓ)
  const zt = alloc(<usize>l * <usize>n * sz);   // Zᵀ, finally B = Qᵀ·A (ℓ×n)
  const scratch = alloc(<usize>l * <usize>max(m, n) * sz);
  const tau = alloc(<usize>l << 3);
  const perm = alloc(<usize>l << 2);
  if (at == 0 || omega == 0 || y == 0 || qt == 0 || z == 0 || zt == 0 || scratch == 0 || tau == 0 || perm == 0) {
    release(saved);
    return SVD_OUT_OF_MEMORY;
  }
  transpose<T>(a, m, n, at);
  seedRng(seed);
  gaussian<T>(omega, n * l);
  // Q = orth(A·Ω).
  if (!mm<T>(a, omega, y, m, n, l, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
  transpose<T>(y, m, l, qt);
  orthonormalize<T>(qt, m, l, tau, perm, scratch);
  for (let it = 0; it <= powerIters; it++) {
    // Z = Aᵀ·Q; the last pass leaves B = Qᵀ·A = Zᵀ in zt.
    transpose<T>(qt, l, m, y);
    if (!mm<T>(at, y, z, n, m, l, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    transpose<T>(z, n, l, zt);
    if (it == powerIters) break;
    // Q = orth(A·orth(Z)).
    orthonormalize<T>(zt, n, l, tau, perm, scratch);
    transpose<T>(zt, l, n, z);
    if (!mm<T>(a, z, y, m, n, l, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    transpose<T>(y, m, l, qt);
    orthonormalize<T>(qt, m, l, tau, perm, scratch);
  }
  // B = Qᵀ·A (ℓ×n) is in zt, Q (m×ℓ) in y.
  const sweeps = svdFromRange<T>(y, false, zt, m, n, l, k, wantUV, sOut, uOut, vtOut, maxSweeps);
  release(saved);
  return sweeps;
}

/** Arena bytes randomizedSvd<T>() allocates. */
export function randomizedSvdScratchBytes<T>(m: i32, n: i32, k: i32, oversample: i32, wantUV: bool): f64 {
  const sz = sizeof<T>();
  const l = min((k + oversample + NR - 1) / NR * NR, min(m, n));
  const um = <f64>m, un = <f64>n, ul = <f64>l;
  const own = paddedBytes(un * um * sz) + paddedBytes(un * ul * sz) + paddedBytes(um * ul * sz) + paddedBytes(ul * um * sz) + paddedBytes(un * ul * sz)
    + paddedBytes(ul * un * sz) + paddedBytes(ul * <f64>max(m, n) * sz) + paddedBytes(ul * 8) + paddedBytes(ul * 4);
  const products = max(mmScratchBytes<T>(m, n, l, false, false), mmScratchBytes<T>(n, m, l, false, false));
  return own + max(products, svdFromRangeScratchBytes<T>(m, n, l, k, wantUV, false));
}
