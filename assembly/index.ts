// The exported ABI of the kernels module: numbers in, numbers out.
// Pointers are byte offsets into the exported memory; lengths are element counts.
// Every export has exactly one caller in src/ops/.

export { alloc, mark, release, reset, heap_base, set_floor } from './arena';
import { gemm, packWholeB, packedBSize } from './gemm/driver';

/** 1 when this module was built with relaxed SIMD (results may differ by engine), else 0. */
export function build_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/**
 * f32 GEMM, see gemm/driver.ts. `bPacked`: 0, or B packed by gemm_pack_b for the same k, n, transB.
 * Returns 0, or 1 when scratch memory could not be allocated.
 */
export function gemm_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, bPacked: usize): i32 {
  return gemm(a, b, c, m, k, n, transA != 0, transB != 0, bPacked);
}

/** Bytes of a packed op(B) (k×n) for gemm_pack_b. */
export function gemm_packed_b_bytes(k: i32, n: i32): usize {
  return packedBSize(k, n) << 2;
}

/** Packs op(B) (k×n; stored n×k when transB) once, for gemm_f32's `bPacked`. */
export function gemm_pack_b(b: usize, k: i32, n: i32, transB: i32, dst: usize): void {
  packWholeB(b, k, n, transB != 0, dst);
}

import { svd } from './svd/svd';

/**
 * Thin SVD of a row-major m×n f64 matrix (see svd/svd.ts): S (min(m,n)), and when wantUV,
 * U (m×p) and Vt (p×n). Returns sweeps (negative: not converged), or i32.MIN_VALUE: out of memory.
 */
export function svd_f64(a: usize, m: i32, n: i32, wantUV: i32, s: usize, u: usize, vt: usize, maxSweeps: i32): i32 {
  return svd<f64>(a, m, n, wantUV != 0, s, u, vt, maxSweeps);
}

/** As svd_f64, for f32 data (rotation parameters still computed in f64). */
export function svd_f32(a: usize, m: i32, n: i32, wantUV: i32, s: usize, u: usize, vt: usize, maxSweeps: i32): i32 {
  return svd<f32>(a, m, n, wantUV != 0, s, u, vt, maxSweeps);
}

import { randomizedSvd } from './svd/randomized';
import { blockKrylovSvd } from './svd/block-krylov';

/**
 * Rank-k randomized SVD: S (k), and when wantUV, U (m×k) and Vt (k×n). `f64`: 1 for f64 data,
 * 0 for f32. `krylov`: 0 = subspace iteration with `iters` power iterations (svd/randomized.ts),
 * 1 = block Krylov with `iters` steps (svd/block-krylov.ts). Returns as svd_f64.
 */
export function svd_rank(
  f64: i32, a: usize, m: i32, n: i32, k: i32, oversample: i32, iters: i32, seed: u32,
  wantUV: i32, s: usize, u: usize, vt: usize, maxSweeps: i32, krylov: i32,
): i32 {
  if (krylov) {
    return f64
      ? blockKrylovSvd<f64>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps)
      : blockKrylovSvd<f32>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps);
  }
  return f64
    ? randomizedSvd<f64>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps)
    : randomizedSvd<f32>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps);
}

import { firstNonFiniteF32, firstNonFiniteF64 } from './check';

/** Index of the first NaN/±Infinity in x[0..n) (f64 when `f64` is 1, else f32), or −1. */
export function first_nonfinite(x: usize, n: i32, f64: i32): i32 {
  return f64 ? firstNonFiniteF64(x, n) : firstNonFiniteF32(x, n);
}

import { dctRows } from './dct/basis';
import { dctSelect } from './dct/select';

/** Rows `rows[0..count)` of the orthonormal n×n DCT-II basis (all n rows when rows = 0) into dst (f32). */
export function dct_basis(n: i32, rows: usize, count: i32, dst: usize): void {
  dctRows(n, rows, count, dst);
}

/** DCT-basis selection for the m×n f32 gradient g (see dct/select.ts). Returns 0, or 1: out of memory. */
export function dct_select(
  g: usize, m: i32, n: i32, r: i32, left: i32, l2: i32, fft: i32, basis: usize, idx: usize, scores: usize, projected: usize,
): i32 {
  return dctSelect(g, m, n, r, left != 0, l2 != 0, fft != 0, basis, idx, scores, projected);
}

import { bitstackBlock } from './bitstack/decompose';
import { reconstructTiles, stackedMatmul } from './bitstack/tiles';
import { lutGemv, lutScratchBytes } from './bitstack/lut-gemv';
import { f32ToF16, f16ToF32, bf16ToF32, f32ToBf16 } from './bitstack/f16';
import { packSigns } from './bitstack/signs';
import { decodeInt8 } from './bitstack/factors';

/**
 * One BitStack block on the residual r (see bitstack/decompose.ts): SVD at rank kmax, the
 * rank of `rankMask` with the largest error reduction per byte, factors stored as f16
 * (factors 0) or int8 + f16 scales (1). The chosen k is written to out + 16.
 * Returns 0, 1: out of memory, 2: no candidate rank ≤ kmax.
 */
export function bitstack_block(
  r: usize, m: i32, n: i32, kmax: i32, rankMask: u32, factors: i32, method: i32, iters: i32, oversample: i32, seed: u32,
  subtractRounded: i32, signs: usize, aOut: usize, bOut: usize, aScale: usize, bScale: usize, a32: usize, b32: usize, out: usize,
): i32 {
  return bitstackBlock(r, m, n, kmax, rankMask, factors, method, iters, oversample, seed, subtractRounded != 0,
    signs, aOut, bOut, aScale, bScale, a32, b32, out);
}

/** Decodes int8 factors (A m×k with k column scales, B k×n with k row scales; scales f16) to f32. */
export function bitstack_decode_i8(aq: usize, aScale: usize, bq: usize, bScale: usize, m: i32, n: i32, k: i32, a32: usize, b32: usize): void {
  decodeInt8(aq, aScale, bq, bScale, m, n, k, a32, b32);
}

/** w = W_b from `count` blocks (4 u32 each at `blocks`: signs, A f32, B f32, k). Returns 0, or 1: out of memory. */
export function bitstack_reconstruct(blocks: usize, count: i32, m: i32, n: i32, w: usize): i32 {
  return reconstructTiles(blocks, count, m, n, w);
}

/** y (m×batch) = W_b·x (x n×batch), W_b rebuilt a tile of rows at a time. Returns 0, or 1: out of memory. */
export function bitstack_matmul(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, y: usize): i32 {
  return stackedMatmul(blocks, count, m, n, x, batch, y);
}

/** y += one block's S ⊙ (A·B) applied to x, from packed signs and f32 factors (k ≤ 32). */
export function bitstack_lut_gemv(signs: usize, m: i32, n: i32, a: usize, b: usize, k: i32, x: usize, y: usize, scratch: usize): void {
  lutGemv(signs, m, n, a, b, k, x, y, scratch);
}

/** Scratch bytes bitstack_lut_gemv needs for m rows. */
export function bitstack_lut_scratch(m: i32): usize {
  return lutScratchBytes(m);
}

/** f32 → f16 bits (round to nearest even), n values. */
export function f32_to_f16(src: usize, n: i32, dst: usize): void {
  f32ToF16(src, n, dst);
}

/** f16 bits → f32, n values. */
export function f16_to_f32(src: usize, n: i32, dst: usize): void {
  f16ToF32(src, n, dst);
}

/** Packs the signs of n f32 values (MSB first, set bit = +1). */
export function pack_signs(x: usize, n: i32, dst: usize): void {
  packSigns(x, n, dst);
}

/** bfloat16 bits → f32, n values. */
export function bf16_to_f32(src: usize, n: i32, dst: usize): void {
  bf16ToF32(src, n, dst);
}

/** f32 → bfloat16 bits (round to nearest even), n values. */
export function f32_to_bf16(src: usize, n: i32, dst: usize): void {
  f32ToBf16(src, n, dst);
}
