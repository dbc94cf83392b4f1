// Rank-k SVD by randomized block Krylov iteration (Musco & Musco 2015; Halko,
// Martinsson & Tropp 2011 §4.5) with Jacobi on the small matrix:
//   Ω (n×b) Gaussian;  Q₀ = orth(A·Ω);
//   Q_{i+1} = orth((A·Aᵀ·Q_i) ⟂ Q₀…Q_i)   for i < depth   (block Lanczos, full reorthogonalisation);
//   Q = [Q₀ … Q_depth] (m×L, L = (depth+1)·b);  B = Qᵀ·A = [Aᵀ·Q₀ … Aᵀ·Q_depth]ᵀ;
//   B = Û·Σ·Vᵀ (svd.ts);  U = Q·Û;  keep the first k.
// Against subspace iteration (randomized.ts) it keeps every block instead of only
// the last: for the same accuracy it needs a narrower b and fewer products, and
// B costs nothing, since each Aᵀ·Q_i is computed anyway. Every product with A is
// a GEMM of A (or a copy of Aᵀ, read in place) with a skinny b-wide matrix; the
// reorthogonalisation is two more skinny GEMMs per pass (basis.ts).

import { alloc, mark, release, paddedBytes } from '../arena';
import { NR } from '../gemm/params';
import { mm, mmScratchBytes, orthonormalize, projectOut, projectOutScratchBytes, svdFromRange, svdFromRangeScratchBytes } from './basis';
import { SVD_OUT_OF_MEMORY } from './svd';
import { gaussian, seedRng } from './rng';
import { dot } from './vec';
import { transpose } from '../transpose';

/**
 * Rank-k SVD of the row-major m×n `a`: S (k), and when wantUV, U (m×k) and Vt (k×n).
 * Block size b = k + oversample rounded up to the GEMM's panel width (at most
 * min(m, n)); `depth` Krylov steps, fewer when (depth + 1)·b would exceed min(m, n).
 * Returns the Jacobi sweeps on B (negative when not converged) or SVD_OUT_OF_MEMORY.
 */
export function blockKrylovSvd<T>(
  a: usize, m: i32, n: i32, k: i32, oversample: i32, depth: i32, seed: u64,
  wantUV: bool, sOut: usize, uOut: usize, vtOut: usize, maxSweeps: i32,
): i32 {
  const sz = sizeof<T>();
  const p = min(m, n);
  const b = min((k + oversample + NR - 1) / NR * NR, p);
  const steps = max(0, min(depth, p / b - 1));
  const l = (steps + 1) * b;
  const saved = mark();
  const at = alloc(<usize>n * <usize>m * sz);
  const omega = alloc(<usize>n * <usize>b * sz);
  const y = alloc(<usize>m * <usize>b * sz);     // A·Ω, A·Z_i (m×b)
  const qt = alloc(<usize>l * <usize>m * sz);    // Qᵀ, block by block (rows = basis vectors)
  const z = alloc(<usize>n * <usize>b * sz);     // Z_i = Aᵀ·Q_i (n×b)
  const bm = alloc(<usize>l * <usize>n * sz);    // B = Qᵀ·A (L×n): row block i = Z_iᵀ
  const scratch = alloc(<usize>b * <usize>max(m, n) * sz);
  const c = alloc(<usize>l * <usize>b * sz);
  const tau = alloc(<usize>b << 3);
  const perm = alloc(<usize>b << 2);
  if (at == 0 || omega == 0 || y == 0 || qt == 0 || z == 0 || bm == 0 || scratch == 0 || c == 0 || tau == 0 || perm == 0) {
    release(saved);
    return SVD_OUT_OF_MEMORY;
  }
  const blockQ = <usize>b * <usize>m * sz, blockB = <usize>b * <usize>n * sz;
  transpose<T>(a, m, n, at);
  seedRng(seed);
  gaussian<T>(omega, n * b);
  // Q₀ = orth(A·Ω).
  if (!mm<T>(a, omega, y, m, n, b, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
  transpose<T>(y, m, b, qt);
  orthonormalize<T>(qt, m, b, tau, perm, scratch);
  for (let i = 0; i <= steps; i++) {
    // Z_i = Aᵀ·Q_i (Q_i read transposed, as stored): row block i of B.
    if (!mm<T>(at, qt + <usize>i * blockQ, z, n, m, b, false, true)) { release(saved); return SVD_OUT_OF_MEMORY; }
    transpose<T>(z, n, b, bm + <usize>i * blockB);
    if (i == steps) break;
    // Q_{i+1} = orth(A·Z_i ⟂ Q₀…Q_i): project out, orthonormalise, project out again.
    if (!mm<T>(a, z, y, m, n, b, false, false)) { release(saved); return SVD_OUT_OF_MEMORY; }
    const w = qt + <usize>(i + 1) * blockQ;
    const basis = (i + 1) * b;
    transpose<T>(y, m, b, w);
    if (!projectOut<T>(qt, basis, w, b, m, c, scratch)) { release(saved); return SVD_OUT_OF_MEMORY; }
    orthonormalize<T>(w, m, b, tau, perm, scratch);
    if (!projectOut<T>(qt, basis, w, b, m, c, scratch)) { release(saved); return SVD_OUT_OF_MEMORY; }
    // A unit vector that lost half its length to the second projection was rounding noise
    // (or a Householder completion, when the new directions were exactly zero), not a new
    // direction: A has lower rank than the basis. Replace it by a random vector, so that
    // the basis stays orthonormal and no direction of Q is counted twice in B.
    let refill = false;
    for (let j = 0; j < b; j++) {
      const row = w + <usize>j * <usize>m * sz;
      if (dot<T>(row, row, m) < 0.25) { gaussian<T>(row, m); refill = true; }
    }
    if (refill) {
      for (let pass = 0; pass < 2; pass++) {
        if (!projectOut<T>(qt, basis, w, b, m, c, scratch)) { release(saved); return SVD_OUT_OF_MEMORY; }
      }
    }
    orthonormalize<T>(w, m, b, tau, perm, scratch);
  }
  const sweeps = svdFromRange<T>(qt, true, bm, m, n, l, k, wantUV, sOut, uOut, vtOut, maxSweeps);
  release(saved);
  return sweeps;
}

/** Arena bytes blockKrylovSvd<T>() allocates. */
export function blockKrylovSvdScratchBytes<T>(m: i32, n: i32, k: i32, oversample: i32, depth: i32, wantUV: bool): f64 {
  const sz = sizeof<T>();
  const p = min(m, n);
  const b = min((k + oversample + NR - 1) / NR * NR, p);
  const l = (max(0, min(depth, p / b - 1)) + 1) * b;
  const um = <f64>m, un = <f64>n, ub = <f64>b, ul = <f64>l;
  const own = paddedBytes(un * um * sz) + paddedBytes(un * ub * sz) + paddedBytes(um * ub * sz) + paddedBytes(ul * um * sz) + paddedBytes(un * ub * sz)
    + paddedBytes(ul * un * sz) + paddedBytes(ub * <f64>max(m, n) * sz) + paddedBytes(ul * ub * sz) + paddedBytes(ub * 8) + paddedBytes(ub * 4);
  const products = max(max(mmScratchBytes<T>(m, n, b, false, false), mmScratchBytes<T>(n, m, b, false, true)), projectOutScratchBytes<T>(l, m, b));
  return own + max(products, svdFromRangeScratchBytes<T>(m, n, l, k, wantUV, true));
}
