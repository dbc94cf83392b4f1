// One BitStack residual block (arXiv 2410.23918):
//   S = sign(R);  |R| ≈ U_k·Σ_k·V_kᵀ;  A = U_k·√Σ_k (m×k), B = √Σ_k·V_kᵀ (k×n);
//   R ← R − S ⊙ (A·B).
// A and B are stored as float16; with `subtractRounded` the residual subtracts
// the f16-rounded factors (so later blocks correct the rounding), else the f32
// ones (the reference's choice).

import { alloc, mark, release } from '../arena';
import { gemm } from '../gemm/driver';
import { randomizedSvd } from '../svd/randomized';
import { blockKrylovSvd } from '../svd/block-krylov';
import { svd, SVD_OUT_OF_MEMORY } from '../svd/svd';
import { packSignsAndAbs } from './signs';
import { toHalf, fromHalf } from './f16';
import { OK, OUT_OF_MEMORY } from '../status';

export const METHOD_SUBSPACE = 0;
export const METHOD_EXACT = 1;
export const METHOD_KRYLOV = 2;

/**
 * Runs one block on the residual r (m×n f32, updated in place). Writes the packed
 * signs (ceil(m·n/8) bytes), A and B as f16 bits (m×k, k×n) and, in `out`,
 * ‖R‖_F² after the update (f64) then the Jacobi sweeps of the small SVD (f64).
 * method: SVD of |R|: METHOD_SUBSPACE (randomized subspace iteration, `iters` power
 * iterations), METHOD_EXACT (full Jacobi SVD) or METHOD_KRYLOV (randomized block
 * Krylov, `iters` steps).
 */
export function bitstackBlock(
  r: usize, m: i32, n: i32, k: i32, method: i32, iters: i32, oversample: i32, seed: u32,
  subtractRounded: bool, signs: usize, a16: usize, b16: usize, out: usize,
): i32 {
  const saved = mark();
  const exact = method == METHOD_EXACT;
  const count = m * n;
  const p = min(m, n);
  const mag = alloc(<usize>count << 2);
  const s = alloc(<usize>(exact ? p : k) << 2);
  const u = alloc(<usize>m * <usize>(exact ? p : k) << 2);
  const vt = alloc(<usize>(exact ? p : k) * <usize>n << 2);
  const a = alloc(<usize>m * <usize>k << 2), b = alloc(<usize>k * <usize>n << 2);
  if (mag == 0 || s == 0 || u == 0 || vt == 0 || a == 0 || b == 0) { release(saved); return OUT_OF_MEMORY; }
  packSignsAndAbs(r, count, signs, mag);
  const sweeps = exact
    ? svd<f32>(mag, m, n, true, s, u, vt, 30)
    : method == METHOD_KRYLOV
      ? blockKrylovSvd<f32>(mag, m, n, k, oversample, iters, <u64>seed, true, s, u, vt, 30)
      : randomizedSvd<f32>(mag, m, n, k, oversample, iters, <u64>seed, true, s, u, vt, 30);
  if (sweeps == SVD_OUT_OF_MEMORY) { release(saved); return OUT_OF_MEMORY; }
  const ldu = exact ? p : k;
  // Split Σ evenly: A = U·√Σ, B = √Σ·Vᵀ; store f16, keep f32 (rounded or not) for the update.
  for (let c = 0; c < k; c++) {
    const root = Math.sqrt(<f64>load<f32>(s + (<usize>c << 2)));
    for (let i = 0; i < m; i++) {
      const v = <f32>(<f64>load<f32>(u + ((<usize>i * <usize>ldu + <usize>c) << 2)) * root);
      const h = toHalf(v);
      store<u16>(a16 + ((<usize>i * <usize>k + <usize>c) << 1), h);
      store<f32>(a + ((<usize>i * <usize>k + <usize>c) << 2), subtractRounded ? fromHalf(h) : v);
    }
    for (let j = 0; j < n; j++) {
      const v = <f32>(<f64>load<f32>(vt + ((<usize>c * <usize>n + <usize>j) << 2)) * root);
      const h = toHalf(v);
      store<u16>(b16 + ((<usize>c * <usize>n + <usize>j) << 1), h);
      store<f32>(b + ((<usize>c * <usize>n + <usize>j) << 2), subtractRounded ? fromHalf(h) : v);
    }
  }
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
  release(saved);
  return OK;
}
