// Blocked GEMM driver: the five BLIS loops around one micro-kernel.
//
//   for jc in N by NC:            (B block: KC×NC, packed once per (jc, pc))
//     for pc in K by KC:
//       pack B[pc.., jc..]
//       for ic in M by MC:        (A block: MC×KC, kept in L2)
//         copy A[ic.., pc..]      (only when A is transposed: to row-major)
//         for jr in NC by NR:     micro-panels of B
//           for ir in MC by MR:   micro-panels of A → one micro-kernel call
//
// A row-major A is not packed: the kernel reads its rows in place (as
// XNNPACK's GEMMs do); a transposed A is copied to row-major, block by block.
// The first KC block overwrites C, later ones add to it, so the summation
// order for a given (m, k, n) is fixed: results are deterministic. Edge tiles
// (fewer than MR rows or NR columns left) run the same kernel into a scratch
// tile that is then copied into C, so there is no scalar path over whole rows.
// Threads split the columns (gemmColumns): each packs its own B block and
// reads A in place; the tiles, and so the bits, are those of one thread.

import { alloc, mark, release, paddedBytes } from '../arena';
import { MR, NR, KC, MC, NC, SHALLOW_K } from './params';
import { packTransposedA, packB } from './pack';
import { gemm_4x8_wasmsimd_splat as kernel } from './kernel-4x8-wasmsimd-splat';
import { gemv_dot_4x8, gemv_axpy_4x4, gemv_packed_1x32 } from './gemv-wasmsimd';
import { OK, OUT_OF_MEMORY } from '../status';


@inline function roundUp(x: i32, r: i32): i32 {
  return (x + r - 1) / r * r;
}

/** Floats that `packWholeB` writes for a k×n op(B). */
export function packedBSize(k: i32, n: i32): usize {
  let size: usize = 0;
  for (let jc = 0; jc < n; jc += NC) size += <usize>k * <usize>roundUp(min(NC, n - jc), NR);
  return size;
}

/** Where the packed (jc, pc) block of a whole packed B starts (floats); see packWholeB. */
@inline function packedBOffset(k: i32, jc: i32, pc: i32, nc: i32): usize {
  return <usize>jc * <usize>k + <usize>pc * <usize>roundUp(nc, NR);
}

/**
 * Packs all of op(B) (k×n; stored n×k when transB) in the driver's block order, so
 * that a B used by many products (a resident weight) is packed once, as XNNPACK
 * packs weights when an operator is created.
 */
export function packWholeB(b: usize, k: i32, n: i32, transB: bool, dst: usize): void {
  const rsB = transB ? 1 : n, csB = transB ? k : 1;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      packB(b, rsB, csB, pc, jc, min(KC, k - pc), nc, dst + (packedBOffset(k, jc, pc, nc) << 2));
    }
  }
}

/**
 * C(m×n, row-major, contiguous) = op(A)(m×k) · op(B)(k×n). The one place that picks a kernel.
 * A is stored m×k (k×m when transA), B is stored k×n (n×k when transB), both row-major.
 * `bPacked`: 0, or op(B) already packed by packWholeB (then `b` is not read).
 * Returns OK, or OUT_OF_MEMORY when the packing buffers could not be allocated.
 */
export function gemm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, bPacked: usize,
): i32 {
  const saved = mark();
  const scratch = alloc(<usize>gemmScratchBytes(m, k, n, transA, bPacked != 0));
  if (scratch == 0) return OUT_OF_MEMORY;
  gemmWith(a, b, c, m, k, n, transA, transB, bPacked, scratch);
  release(saved);
  return OK;
}

/**
 * gemm() with the caller's scratch (gemmScratchBytes(m, k, n, transA, bPacked ≠ 0) bytes, 64-byte
 * aligned) instead of the arena: the same bits, and safe on any thread of a shared memory.
 */
export function gemmWith(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, bPacked: usize, scratch: usize,
): void {
  // Matrix-vector products are memory-bound: their own kernels, no packing.
  if (n == 1 || m == 1) gemvPart(a, b, c, m, k, n, transA, transB, bPacked, 0, n == 1 ? m : n, scratch);
  else gemmColumns(a, b, c, m, k, n, transA, transB, bPacked, 0, n, scratch);
}

/**
 * Elements [i0, i1) of a matrix-vector product (m = 1 or n = 1: C is a vector of max(m, n)), as
 * gemm() computes them; `tile`: 32 bytes when m = 1 and B is packed (else unused). Each element is
 * summed in the same order however C is split: a thread's part has the whole call's bits. For a
 * packed B, i0 must be a multiple of 8 (NR) and i1 one or n.
 */
export function gemvPart(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, bPacked: usize,
  i0: i32, i1: i32, tile: usize,
): void {
  const rows = i1 - i0;
  if (rows <= 0) return;
  const ci = c + (<usize>i0 << 2);
  if (n == 1) {
    // C (m) = op(A)·b, b a k-vector whatever transB says.
    if (transA) gemv_axpy_4x4(a + (<usize>i0 << 2), m, k, rows, b, ci); // A stored k×m: C = Aᵀb
    else gemv_dot_4x8(a + (<usize>i0 * <usize>k << 2), k, rows, k, b, ci);
    return;
  }
  // C (n) = a·op(B) = op(B)ᵀ·a, a a k-vector whatever transA says.
  // A resident B packed once: its panels are read front to back (the same bits as in place).
  if (bPacked) gemv_packed_1x32(bPacked, k, n, a, c, KC, NC, tile, i0, i1);
  else if (transB) gemv_dot_4x8(b + (<usize>i0 * <usize>k << 2), k, rows, k, a, ci); // B stored n×k: C = B·a
  else gemv_axpy_4x4(b + (<usize>i0 << 2), n, k, rows, a, ci);
}

/**
 * Columns [n0, n1) of the general case (m > 1, n > 1) of gemm(), with the caller's scratch
 * (gemmScratchBytes(m, k, n, …) bytes, 64-byte aligned): no arena call, so that threads sharing one
 * memory each run a part with their own scratch. n0 must be a multiple of NR (see gemmColumnSplit),
 * n1 one or n. Tiles sit at the same columns as in a whole-width call and each element of C sums
 * over k in the same order: the columns are bit-identical to gemm()'s.
 */
export function gemmColumns(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, bPacked: usize,
  n0: i32, n1: i32, scratch: usize,
): void {
  const rsB = transB ? 1 : n, csB = transB ? k : 1;
  const kcMax = min(KC, k);
  // A row-major A is read in place by the kernel (four row pointers); a
  // transposed A is copied block by block into row-major order first.
  const aBytes = transA ? <usize>paddedBytes(<f64>(min(MC, m) * kcMax) * 4) : 0;
  const bBytes: usize = bPacked ? 0 : <usize>paddedBytes(<f64>(roundUp(min(NC, n), NR) * kcMax) * 4);
  const aPack = scratch, bPack = scratch + aBytes, tile = bPack + bBytes;
  const ldc = <usize>n << 2;
  const lda = <usize>k << 2;
  for (let jc = n0 / NC * NC; jc < n1; jc += NC) {
    const nc = min(NC, n - jc);
    // This part's columns of the block: [j0, j1), j0 a multiple of NR.
    const j0 = max(n0, jc) - jc, j1 = min(n1, jc + nc) - jc;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const accumulate = pc > 0;
      // Panel jr of the block starts at bBlock + jr·kc floats, also when only [j0, j1) is packed.
      let bBlock: usize;
      if (bPacked) bBlock = bPacked + (packedBOffset(k, jc, pc, nc) << 2);
      else {
        packB(b, rsB, csB, pc, jc + j0, kc, j1 - j0, bPack);
        bBlock = bPack - (<usize>(j0 * kc) << 2);
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        if (transA) packTransposedA(a, m, ic, pc, mc, kc, aPack);
        const aBlock = transA ? aPack : a + <usize>ic * lda + (<usize>pc << 2);
        const rs: usize = transA ? <usize>kc << 2 : lda;
        const cBlock = c + <usize>ic * ldc + (<usize>jc << 2);
        macroKernel(aBlock, rs, bBlock, cBlock, ldc, mc, nc, j0, j1, kc, accumulate, tile);
      }
    }
  }
}

/**
 * Where part `t` of `parts` starts in gemmColumns' split of n columns: a multiple of NR (n for
 * t = parts), parts as even as NR allows. Parts may be empty when n < parts·NR.
 */
export function gemmColumnSplit(n: i32, parts: i32, t: i32): i32 {
  if (t >= parts) return n;
  const panels = (n + NR - 1) / NR;
  return min(n, <i32>(<i64>panels * <i64>t / <i64>parts) * NR);
}

/**
 * Loops 4 and 5 around the micro-kernel for one mc×kc block of A (rows `rs`
 * bytes apart) and one packed kc×nc block of B, into the mc×nc block of C
 * (its columns [j0, j1): a thread's part; edge tiles are still those of nc).
 * For a shallow block (kc ≤ SHALLOW_K) the C writes dominate: rows of tiles
 * are then walked along C's rows (ir outer) so that C is written as four
 * sequential streams. The same order wins for a narrow B (nc ≤ 64, as in the
 * randomized SVD's products): the four A rows stay in L1 across the few B
 * panels (5% on 4096×4096·4096×40). Otherwise one B panel stays in L1 while the
 * A block streams from L2 (jr outer).
 */
function macroKernel(
  a: usize, rs: usize, bPack: usize, c: usize, ldc: usize,
  mc: i32, nc: i32, j0: i32, j1: i32, kc: i32, accumulate: bool, tile: usize,
): void {
  if (kc <= SHALLOW_K || j1 - j0 <= 64) {
    for (let ir = 0; ir < mc; ir += MR) {
      for (let jr = j0; jr < j1; jr += NR) microTile(a, rs, bPack, c, ldc, ir, jr, mc, nc, kc, accumulate, tile);
    }
  } else {
    for (let jr = j0; jr < j1; jr += NR) {
      for (let ir = 0; ir < mc; ir += MR) microTile(a, rs, bPack, c, ldc, ir, jr, mc, nc, kc, accumulate, tile);
    }
  }
}

/** One MR×NR tile of C; edge tiles go through the scratch tile. */
@inline function microTile(
  a: usize, rs: usize, bPack: usize, c: usize, ldc: usize,
  ir: i32, jr: i32, mc: i32, nc: i32, kc: i32, accumulate: bool, tile: usize,
): void {
  const mr = min(MR, mc - ir), nr = min(NR, nc - jr);
  const bPanel = bPack + (<usize>(jr * kc) << 2);
  // Four row pointers; rows past the edge repeat row 0 (valid memory,
  // their results are discarded with the scratch tile).
  const a0 = a + <usize>ir * rs;
  const a1 = mr > 1 ? a0 + rs : a0;
  const a2 = mr > 2 ? a0 + 2 * rs : a0;
  const a3 = mr > 3 ? a0 + 3 * rs : a0;
  const cTile = c + <usize>ir * ldc + (<usize>jr << 2);
  if (mr == MR && nr == NR) {
    kernel(kc, a0, a1, a2, a3, bPanel, cTile, ldc, accumulate);
  } else {
    kernel(kc, a0, a1, a2, a3, bPanel, tile, <usize>NR << 2, false);
    copyTile(tile, cTile, ldc, mr, nr, accumulate);
  }
}

/** Copies (or adds) the top-left mr×nr corner of an MR×NR scratch tile into C. */
function copyTile(tile: usize, c: usize, ldc: usize, mr: i32, nr: i32, accumulate: bool): void {
  for (let i = 0; i < mr; i++) {
    const src = tile + (<usize>(i * NR) << 2);
    const dst = c + <usize>i * ldc;
    for (let j = 0; j < nr; j++) {
      const off = <usize>j << 2;
      const v = load<f32>(src + off);
      store<f32>(dst + off, accumulate ? load<f32>(dst + off) + v : v);
    }
  }
}

/** Arena bytes gemm() allocates for these arguments (packing buffers and the edge tile; none for GEMV). */
export function gemmScratchBytes(m: i32, k: i32, n: i32, transA: bool, bPacked: bool): f64 {
  if (n == 1) return 0;
  if (m == 1) return bPacked ? paddedBytes(32) : 0;
  const kcMax = min(KC, k);
  return (transA ? paddedBytes(<f64>(min(MC, m) * kcMax) * 4) : 0)
    + (bPacked ? 0 : paddedBytes(<f64>(roundUp(min(NC, n), NR) * kcMax) * 4))
    + paddedBytes(<f64>(MR * NR) * 4);
}
