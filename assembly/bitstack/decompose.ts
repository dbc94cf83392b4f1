// One BitStack residual block (arXiv 2410.23918):
//   S = sign(R);  |R| ≈ U_k·Σ_k·V_kᵀ;  A = U_k·√Σ_k (m×k), B = √Σ_k·V_kᵀ (k×n);
//   R ← R − S ⊙ (A·B).
// A and B are stored as float16 or int8 (factors.ts); with `subtractRounded` the
// residual subtracts the stored (rounded) factors, so later blocks correct the
// rounding, else the f32 ones (the reference's choice).

import { alloc, mark, release, paddedBytes } from '../arena';
import { gemm, gemmScratchBytes } from '../gemm/driver';
import { randomizedSvd, randomizedSvdScratchBytes } from '../svd/randomized';
import { blockKrylovSvd, blockKrylovSvdScratchBytes } from '../svd/block-krylov';
import { svd, svdScratchBytes, SVD_OUT_OF_MEMORY } from '../svd/svd';
import { packSignsAndAbs } from './signs';
import { chooseRank, storeFactors } from './factors';
import { OK, OUT_OF_MEMORY, BAD_ARGUMENT, NOT_REPRESENTABLE } from '../status';

export const METHOD_SUBSPACE = 0;
export const METHOD_EXACT = 1;
export const METHOD_KRYLOV = 2;

/**
 * Runs one block on the residual r (m×n f32, updated in place). Writes the packed
 * signs (ceil(m·n/8) bytes) and the factors of the chosen rank k (see factors.ts):
 * aOut (m×k) and bOut (k×n) as f16 bits or int8, aScale/bScale (k f16 each, int8
 * only). a32/b32 (m×kmax, kmax×n f32) are scratch. In `out`: ‖R‖_F² after the
 * update (f64), the Jacobi sweeps of the small SVD (f64), then k (i32).
 * The SVD of |R| is taken at rank kmax; k is the candidate of `rankMask` (bit r−1
 * for rank r) that removes most of ‖R‖² per stored byte.
 * method: METHOD_SUBSPACE (randomized subspace iteration, `iters` power
 * iterations), METHOD_EXACT (full Jacobi SVD) or METHOD_KRYLOV (randomized block
 * Krylov, `iters` steps).
 */
export function bitstackBlock(
  r: usize, m: i32, n: i32, kmax: i32, rankMask: u32, factors: i32, method: i32, iters: i32, oversample: i32, seed: u32,
  subtractRounded: bool, signs: usize, aOut: usize, bOut: usize, aScale: usize, bScale: usize, a32: usize, b32: usize, out: usize,
): i32 {
  const saved = mark();
  const exact = method == METHOD_EXACT;
  const count = m * n;
  const p = min(m, n);
  const width = exact ? p : kmax;
  const mag = alloc(<usize>count << 2);
  const s = alloc(<usize>width << 2);
  const u = alloc(<usize>m * <usize>width << 2);
  const vt = alloc(<usize>width * <usize>n << 2);
  if (mag == 0 || s == 0 || u == 0 || vt == 0) { release(saved); return OUT_OF_MEMORY; }
  packSignsAndAbs(r, count, signs, mag);
  const sweeps = exact
    ? svd<f32>(mag, m, n, true, s, u, vt, 30)
    : method == METHOD_KRYLOV
      ? blockKrylovSvd<f32>(mag, m, n, kmax, oversample, iters, <u64>seed, true, s, u, vt, 30)
      : randomizedSvd<f32>(mag, m, n, kmax, oversample, iters, <u64>seed, true, s, u, vt, 30);
  if (sweeps == SVD_OUT_OF_MEMORY) { release(saved); return OUT_OF_MEMORY; }
  const k = chooseRank(s, kmax, rankMask, m, n, factors);
  if (k == 0) { release(saved); return BAD_ARGUMENT; }
  // A = U·√Σ, B = √Σ·Vᵀ in the storage type; a32/b32 hold what the residual subtracts.
  if (!storeFactors(s, u, width, vt, m, n, k, factors, !subtractRounded, aOut, bOut, aScale, bScale, a32, b32)) {
    release(saved);
    return NOT_REPRESENTABLE;
  }
  const a = a32, b = b32;
  // R ← R − S ⊙ (A·B), reusing mag for A·B.
  if (gemm(a, b, mag, m, k, n, false, false, 0) != 0) { release(saved); return OUT_OF_MEMORY; }
  // The signs are those of R itself (sign(0) = +1): R − S⊙AB = R ≥ 0 ? R − AB : R + AB.
  let acc = f64x2.splat(0);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const rv = v128.load(r + o), ab = v128.load(mag + o);
    const v = v128.bitselect(f32x4.sub(rv, ab), f32x4.add(rv, ab), f32x4.ge(rv, zero));
    v128.store(r + o, v);
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
  }
  let norm2 = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const rv = load<f32>(r + o), ab = load<f32>(mag + o);
    const v = rv >= 0 ? rv - ab : rv + ab;
    store<f32>(r + o, v);
    norm2 += <f64>v * <f64>v;
  }
  store<f64>(out, norm2);
  store<f64>(out + 8, <f64>sweeps);
  store<i32>(out + 16, k);
  release(saved);
  return OK;
}

/** Arena bytes bitstackBlock() allocates. */
export function bitstackBlockScratchBytes(m: i32, n: i32, kmax: i32, method: i32, iters: i32, oversample: i32): f64 {
  const width = <f64>(method == METHOD_EXACT ? min(m, n) : kmax);
  const own = paddedBytes(<f64>m * <f64>n * 4) + paddedBytes(width * 4) + paddedBytes(<f64>m * width * 4) + paddedBytes(width * <f64>n * 4);
  const range = method == METHOD_EXACT
    ? svdScratchBytes<f32>(m, n, true)
    : method == METHOD_KRYLOV
      ? blockKrylovSvdScratchBytes<f32>(m, n, kmax, oversample, iters, true)
      : randomizedSvdScratchBytes<f32>(m, n, kmax, oversample, true);
  return own + max(range, gemmScratchBytes(m, kmax, n, false, false));
}
