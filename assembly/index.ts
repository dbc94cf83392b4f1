// The exported ABI of the kernels module, and its one owner: every export, status
// code and option value a host may use is declared here (docs/ABI.md describes
// them for any host; `npm run build` generates src/abi.generated.ts, the facade's
// typed view of this file, from it).
//
// Conventions:
// - Numbers only. Pointers are byte offsets into the exported memory (u32: read
//   them as unsigned); lengths are element counts unless the name says bytes.
// - Every export that can fail returns an i32 status (STATUS_*); other results
//   are written to out slots the caller passes. Exports returning void cannot fail.
// - Buffers are the caller's: it allocates inputs, outputs and caller-provided
//   scratch (alloc/mark/release, or its own heap below set_floor). A kernel's own
//   scratch comes from the arena above the floor and is freed before it returns;
//   the *_scratch_bytes query next to each kernel says how much it takes (an f64
//   byte count: exact, and above 4 GiB rather than wrapped for a problem too large).

import { gemm, gemmColumns, gemmColumnSplit, gemvPart, gemmScratchBytes, packWholeB, packedBSize } from './gemm/driver';
import { svd, svdScratchBytes, SVD_OUT_OF_MEMORY } from './svd/svd';
import { randomizedSvd, randomizedSvdScratchBytes } from './svd/randomized';
import { blockKrylovSvd, blockKrylovSvdScratchBytes } from './svd/block-krylov';
import { firstNonFiniteF32, firstNonFiniteF64 } from './check';
import { dctRows } from './dct/basis';
import { dctSelect, dctSelectScratchBytes } from './dct/select';
import { bitstackBlock, bitstackBlockScratchBytes, METHOD_SUBSPACE, METHOD_EXACT, METHOD_KRYLOV } from './bitstack/decompose';
import { reconstructTiles, stackedMatmul, tilesRows, tilesScratchBytes, MT as TILE_ROWS } from './bitstack/tiles';
import { lutGemv, lutGemvRows, lutScratchBytes } from './bitstack/lut-gemv';
import { f32ToF16, f16ToF32, bf16ToF32, f32ToBf16 } from './bitstack/f16';
import { packSigns } from './bitstack/signs';
import { blockBytes, decodeInt8, FACTORS_F16, FACTORS_I8 } from './bitstack/factors';
import { OK, OUT_OF_MEMORY, BAD_ARGUMENT, NOT_REPRESENTABLE } from './status';

// ---- Version and constants (immutable wasm globals) -------------------------

/**
 * Version of this ABI. Bumped on any change a host can observe (an export's
 * arguments, meaning or status codes); adding an export does not bump it.
 */
export const ABI_VERSION: i32 = 2;

/** The call succeeded. */
export const STATUS_OK: i32 = OK;
/** The arena could not grow for the kernel's scratch (the host refused memory). Nothing was written to outputs. */
export const STATUS_OUT_OF_MEMORY: i32 = OUT_OF_MEMORY;
/** An argument is out of its documented range (the facade checks first; a raw host may see it). */
export const STATUS_BAD_ARGUMENT: i32 = BAD_ARGUMENT;
/** A result does not fit its storage type (BitStack factors beyond f16's range, or a nonzero scale rounding to 0). */
export const STATUS_NOT_REPRESENTABLE: i32 = NOT_REPRESENTABLE;

/** bitstack_block `method`: randomized subspace iteration. */
export const BITSTACK_METHOD_SUBSPACE: i32 = METHOD_SUBSPACE;
/** bitstack_block `method`: full one-sided Jacobi SVD. */
export const BITSTACK_METHOD_EXACT: i32 = METHOD_EXACT;
/** bitstack_block `method`: randomized block Krylov iteration. */
export const BITSTACK_METHOD_KRYLOV: i32 = METHOD_KRYLOV;
/** bitstack_block `factors`: IEEE half. */
export const BITSTACK_FACTORS_F16: i32 = FACTORS_F16;
/** bitstack_block `factors`: int8 with one f16 scale per column of A and per row of B. */
export const BITSTACK_FACTORS_I8: i32 = FACTORS_I8;

/** 1 when this module was built with relaxed SIMD (results may differ by engine), else 0. */
export function build_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

// ---- Memory ------------------------------------------------------------------

export { alloc, mark, release, heap_base, set_floor, arena_peak, arena_peak_reset } from './arena';

/** Index of the first NaN/±Infinity in x[0..n) (f64 when `f64` is 1, else f32), or −1. */
export function first_nonfinite(x: usize, n: i32, f64: i32): i32 {
  return f64 ? firstNonFiniteF64(x, n) : firstNonFiniteF32(x, n);
}

// ---- matmul ------------------------------------------------------------------

/**
 * f32 GEMM C(m×n) = op(A)(m×k)·op(B)(k×n), row-major (see gemm/driver.ts). `bPacked`: 0, or
 * op(B) packed by gemm_pack_b for the same k, n, transB. Returns a status.
 */
export function gemm_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, bPacked: usize): i32 {
  return gemm(a, b, c, m, k, n, transA != 0, transB != 0, bPacked);
}

/**
 * Columns [n0, n1) of gemm_f32 for m > 1 and n > 1 (one thread's part), into the same C, with the
 * caller's `scratch` (gemm_scratch_bytes(m, k, n, transA, bPacked ≠ 0) bytes) instead of the arena:
 * threads on one shared memory call it at once on disjoint parts. n0 and n1 come from
 * gemm_col_split. The columns are bit-identical to those of gemm_f32.
 */
export function gemm_f32_cols(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, bPacked: usize, n0: i32, n1: i32, scratch: usize): void {
  gemmColumns(a, b, c, m, k, n, transA != 0, transB != 0, bPacked, n0, n1, scratch);
}

/**
 * Elements [i0, i1) of gemm_f32's C when it is a vector (m = 1 or n = 1), bit-identical to them, with
 * the caller's `tile` (gemm_scratch_bytes(m, k, n, transA, bPacked ≠ 0) bytes; none needed when 0)
 * instead of the arena: threads call it at once on disjoint parts. With a packed B, i0 must be a
 * multiple of 8 and i1 one or n.
 */
export function gemv_f32_part(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, bPacked: usize, i0: i32, i1: i32, tile: usize): void {
  gemvPart(a, b, c, m, k, n, transA != 0, transB != 0, bPacked, i0, i1, tile);
}

/** First column of part t (0 ≤ t ≤ parts) when gemm_f32_cols splits n columns into `parts` (multiples of the tile width). */
export function gemm_col_split(n: i32, parts: i32, t: i32): i32 {
  return gemmColumnSplit(n, parts, t);
}

/** Arena bytes gemm_f32 takes for its packing buffers (0 for m = 1 or n = 1). */
export function gemm_scratch_bytes(m: i32, k: i32, n: i32, transA: i32, bPacked: i32): f64 {
  return gemmScratchBytes(m, k, n, transA != 0, bPacked != 0);
}

/** Bytes of a packed op(B) (k×n) for gemm_pack_b (the caller allocates them). */
export function gemm_packed_b_bytes(k: i32, n: i32): usize {
  return packedBSize(k, n) << 2;
}

/** Packs op(B) (k×n; stored n×k when transB) once, for gemm_f32's `bPacked`. */
export function gemm_pack_b(b: usize, k: i32, n: i32, transB: i32, dst: usize): void {
  packWholeB(b, k, n, transB != 0, dst);
}

// ---- SVD ---------------------------------------------------------------------

/** Writes the sweeps (i32) and whether Jacobi converged (i32 0/1) to out; the status. */
function svdStatus(sweeps: i32, out: usize): i32 {
  if (sweeps == SVD_OUT_OF_MEMORY) return STATUS_OUT_OF_MEMORY;
  store<i32>(out, sweeps < 0 ? -sweeps : sweeps);
  store<i32>(out, sweeps > 0 ? 1 : 0, 4);
  return STATUS_OK;
}

/**
 * Thin SVD of a row-major m×n matrix (f64 when `f64` is 1, else f32; rotations in f64): S (p =
 * min(m, n), descending) and, when wantUV, U (m×p) and Vt (p×n). out: i32 sweeps, i32 converged.
 * Returns a status.
 */
export function svd_full(f64: i32, a: usize, m: i32, n: i32, wantUV: i32, s: usize, u: usize, vt: usize, maxSweeps: i32, out: usize): i32 {
  return svdStatus(f64
    ? svd<f64>(a, m, n, wantUV != 0, s, u, vt, maxSweeps)
    : svd<f32>(a, m, n, wantUV != 0, s, u, vt, maxSweeps), out);
}

/** Arena bytes svd_full takes. */
export function svd_full_scratch_bytes(f64: i32, m: i32, n: i32, wantUV: i32): f64 {
  return f64 ? svdScratchBytes<f64>(m, n, wantUV != 0) : svdScratchBytes<f32>(m, n, wantUV != 0);
}

/**
 * Rank-k randomized SVD: S (k), and when wantUV, U (m×k) and Vt (k×n). `krylov`: 0 = subspace
 * iteration with `iters` power iterations on ℓ = k + oversample (rounded up to 8) columns, 1 =
 * block Krylov with `iters` steps on blocks of that width. out as svd_full. Returns a status.
 */
export function svd_rank(
  f64: i32, a: usize, m: i32, n: i32, k: i32, oversample: i32, iters: i32, seed: u32,
  wantUV: i32, s: usize, u: usize, vt: usize, maxSweeps: i32, krylov: i32, out: usize,
): i32 {
  let sweeps: i32;
  if (krylov) {
    sweeps = f64
      ? blockKrylovSvd<f64>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps)
      : blockKrylovSvd<f32>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps);
  } else {
    sweeps = f64
      ? randomizedSvd<f64>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps)
      : randomizedSvd<f32>(a, m, n, k, oversample, iters, <u64>seed, wantUV != 0, s, u, vt, maxSweeps);
  }
  return svdStatus(sweeps, out);
}

/** Arena bytes svd_rank takes. */
export function svd_rank_scratch_bytes(f64: i32, m: i32, n: i32, k: i32, oversample: i32, iters: i32, wantUV: i32, krylov: i32): f64 {
  if (krylov) {
    return f64
      ? blockKrylovSvdScratchBytes<f64>(m, n, k, oversample, iters, wantUV != 0)
      : blockKrylovSvdScratchBytes<f32>(m, n, k, oversample, iters, wantUV != 0);
  }
  return f64 ? randomizedSvdScratchBytes<f64>(m, n, k, oversample, wantUV != 0) : randomizedSvdScratchBytes<f32>(m, n, k, oversample, wantUV != 0);
}

// ---- DCT-basis projection ------------------------------------------------------

/** Rows `rows[0..count)` (i32 indices) of the orthonormal n×n DCT-II basis (all n rows when rows = 0) into dst (f32). */
export function dct_basis(n: i32, rows: usize, count: i32, dst: usize): void {
  dctRows(n, rows, count, dst);
}

/**
 * DCT-basis selection for the m×n f32 gradient g (see dct/select.ts): idx (i32 r), scores (f64,
 * every candidate), projected (m×r, or r×n when left). `basis`: the n×n (m×m when left) basis
 * for the GEMM path (fft 0); unused by the FFT path. Returns a status.
 */
export function dct_select(
  g: usize, m: i32, n: i32, r: i32, left: i32, l2: i32, fft: i32, basis: usize, idx: usize, scores: usize, projected: usize,
): i32 {
  return dctSelect(g, m, n, r, left != 0, l2 != 0, fft != 0, basis, idx, scores, projected);
}

/** Arena bytes dct_select takes. */
export function dct_select_scratch_bytes(m: i32, n: i32, left: i32, fft: i32): f64 {
  return dctSelectScratchBytes(m, n, left != 0, fft != 0);
}

// ---- BitStack ----------------------------------------------------------------

/**
 * One BitStack block on the residual r (m×n f32, updated in place; see bitstack/decompose.ts):
 * SVD of |R| at rank kmax by `method` (BITSTACK_METHOD_*), the rank of `rankMask` (bit r−1 for
 * rank r) with the largest error reduction per byte, factors stored by `factors`
 * (BITSTACK_FACTORS_*). Writes signs (⌈m·n/8⌉ bytes), aOut (m×k), bOut (k×n), aScale/bScale
 * (k f16 each, int8 only); a32 (m×kmax f32) and b32 (kmax×n f32) are scratch. out: f64 ‖R‖_F²
 * after the update, f64 sweeps of the small SVD, i32 k. Returns a status: STATUS_NOT_REPRESENTABLE
 * when the factors do not fit their storage (weights too large or too small: scale them); the
 * residual is then left as it was.
 */
export function bitstack_block(
  r: usize, m: i32, n: i32, kmax: i32, rankMask: u32, factors: i32, method: i32, iters: i32, oversample: i32, seed: u32,
  subtractRounded: i32, signs: usize, aOut: usize, bOut: usize, aScale: usize, bScale: usize, a32: usize, b32: usize, out: usize,
): i32 {
  return bitstackBlock(r, m, n, kmax, rankMask, factors, method, iters, oversample, seed, subtractRounded != 0,
    signs, aOut, bOut, aScale, bScale, a32, b32, out);
}

/** Arena bytes bitstack_block takes. */
export function bitstack_block_scratch_bytes(m: i32, n: i32, kmax: i32, method: i32, iters: i32, oversample: i32): f64 {
  return bitstackBlockScratchBytes(m, n, kmax, method, iters, oversample);
}

/** Stored bytes of one block of rank k (packed signs, factors, int8 scales): what budgets count. */
export function bitstack_block_bytes(m: i32, n: i32, k: i32, factors: i32): f64 {
  return blockBytes(m, n, k, factors);
}

/** Decodes int8 factors (A m×k with k column scales, B k×n with k row scales; scales f16) to f32. */
export function bitstack_decode_i8(aq: usize, aScale: usize, bq: usize, bScale: usize, m: i32, n: i32, k: i32, a32: usize, b32: usize): void {
  decodeInt8(aq, aScale, bq, bScale, m, n, k, a32, b32);
}

/** w = W_b from `count` blocks (4 u32 each at `blocks`: signs, A f32, B f32, k ≤ 32). Returns a status. */
export function bitstack_reconstruct(blocks: usize, count: i32, m: i32, n: i32, w: usize): i32 {
  return reconstructTiles(blocks, count, m, n, w);
}

/** y (m×batch) = W_b·x (x n×batch, blocks as bitstack_reconstruct), W_b rebuilt a tile of rows at a time. Returns a status. */
export function bitstack_matmul(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, y: usize): i32 {
  return stackedMatmul(blocks, count, m, n, x, batch, y);
}

/**
 * Rows [i0, i1) of bitstack_reconstruct (batch 0: into `out` = w) or bitstack_matmul (batch ≥ 1: `out` = y),
 * bit-identical to them, with the caller's `scratch` (bitstack_tiles_scratch_bytes(n, batch) bytes)
 * instead of the arena: threads call it at once on disjoint rows. i0 a multiple of
 * bitstack_tiles_row_unit() (and i1 one, or m).
 */
export function bitstack_tiles_rows(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, out: usize, scratch: usize, i0: i32, i1: i32): void {
  tilesRows(blocks, count, m, n, x, batch, out, scratch, i0, i1);
}

/** Rows rebuilt at a time by the tile kernels: where bitstack_tiles_rows may split. */
export function bitstack_tiles_row_unit(): i32 {
  return TILE_ROWS;
}

/** Arena bytes bitstack_reconstruct (batch 0) or bitstack_matmul (batch ≥ 1) take for rows of n. */
export function bitstack_tiles_scratch_bytes(n: i32, batch: i32): f64 {
  return tilesScratchBytes(n, batch);
}

/**
 * y += one block's S ⊙ (A·B) applied to x (y m, x n f32), from packed signs and f32 factors
 * (k ≤ 32). `scratch`: bitstack_lut_scratch(m) bytes, the caller's.
 */
export function bitstack_lut_gemv(signs: usize, m: i32, n: i32, a: usize, b: usize, k: i32, x: usize, y: usize, scratch: usize): void {
  lutGemv(signs, m, n, a, b, k, x, y, scratch);
}

/**
 * Rows [i0, i1) of y += Σ over `count` blocks (listed as bitstack_reconstruct takes them: signs, A f32,
 * B f32, k; u32 each) of the block's product with x: bitstack_lut_gemv block after block, on one
 * thread's rows. `scratch`: bitstack_lut_scratch(i1 − i0) bytes. Rows are bit-identical to
 * bitstack_lut_gemv's.
 */
export function bitstack_lut_gemv_rows(blocks: usize, count: i32, n: i32, x: usize, y: usize, scratch: usize, i0: i32, i1: i32): void {
  for (let q = 0; q < count; q++) {
    const e = blocks + (<usize>q << 4);
    lutGemvRows(load<u32>(e), n, load<u32>(e, 4), load<u32>(e, 8), load<i32>(e, 12), x, y, scratch, i0, i1);
  }
}

/** Scratch bytes bitstack_lut_gemv needs for m rows (the caller allocates them). */
export function bitstack_lut_scratch(m: i32): usize {
  return lutScratchBytes(m);
}

/** Packs the signs of n f32 values (row-major, MSB first, set bit = +1, sign(0) = +1) into ⌈n/8⌉ bytes. */
export function pack_signs(x: usize, n: i32, dst: usize): void {
  packSigns(x, n, dst);
}

// ---- Number formats --------------------------------------------------------------

/** f32 → f16 bits (round to nearest even), n values. */
export function f32_to_f16(src: usize, n: i32, dst: usize): void {
  f32ToF16(src, n, dst);
}

/** f16 bits → f32, n values. */
export function f16_to_f32(src: usize, n: i32, dst: usize): void {
  f16ToF32(src, n, dst);
}

/** bfloat16 bits → f32, n values. */
export function bf16_to_f32(src: usize, n: i32, dst: usize): void {
  bf16ToF32(src, n, dst);
}

/** f32 → bfloat16 bits (round to nearest even), n values. */
export function f32_to_bf16(src: usize, n: i32, dst: usize): void {
  f32ToBf16(src, n, dst);
}
