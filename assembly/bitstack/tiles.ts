// Dense tiles of W_b = Σ_blocks S ⊙ (A·B), rebuilt in cache: for reconstruct()
// and for batched products (prefill), where a tile of rows is rebuilt and the
// GEMM micro-kernel multiplies it with the batch, so W_b is never held whole.
// Blocks are passed as a list of 4 u32 each: signs, A (f32 m×k), B (f32 k×n), k.

import { alloc, mark, release, paddedBytes } from '../arena';
import { gemmWith, gemmScratchBytes } from '../gemm/driver';
import { signAt } from './signs';
import { OK, OUT_OF_MEMORY } from '../status';


/** Rows of W rebuilt at a time (tile of MT×n floats); threads split rows at multiples of it. */
export const MT: i32 = 32;

/** Fills `t` (8 KB) with 256 entries × 8 lanes of u32: 0 where the sign bit is set (+1), 0x80000000 where clear (−1). */
function signMasks(t: usize): void {
  for (let b = 0; b < 256; b++) {
    for (let j = 0; j < 8; j++) store<u32>(t + <usize>(b * 32 + j * 4), (b >> (7 - j)) & 1 ? 0 : 0x80000000);
  }
}

/** tile[r][j] += S[row0 + r][j]·ab[r][j] for r < rows (row length n). */
function addSigned(tile: usize, ab: usize, signs: usize, row0: i32, rows: i32, n: i32, masks: usize): void {
  if ((n & 7) == 0) {
    const rowBytes = <usize>(n >> 3);
    for (let r = 0; r < rows; r++) {
      let s = signs + <usize>(row0 + r) * rowBytes;
      const t = tile + (<usize>r * <usize>n << 2), a = ab + (<usize>r * <usize>n << 2);
      for (let j = 0; j < n; j += 8) {
        const mk = masks + (<usize>load<u8>(s) << 5);
        const o = <usize>j << 2;
        v128.store(t + o, f32x4.add(v128.load(t + o), v128.xor(v128.load(a + o), v128.load(mk))));
        v128.store(t + o, f32x4.add(v128.load(t + o, 16), v128.xor(v128.load(a + o, 16), v128.load(mk, 16))), 16);
        s++;
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const o = (<usize>r * <usize>n + <usize>j) << 2;
        store<f32>(tile + o, load<f32>(tile + o) + signAt(signs, (row0 + r) * n + j) * load<f32>(ab + o));
      }
    }
  }
}

@inline function blockPtr(blocks: usize, q: i32, part: i32): usize {
  return <usize>load<u32>(blocks + (<usize>(4 * q + part) << 2));
}

/** Rebuilds rows [row0, row0+rows) of W_b into tile (rows×n, overwritten); `gemmScratch`: rebuildScratchBytes(n). */
function rebuildRows(blocks: usize, count: i32, row0: i32, rows: i32, n: i32, tile: usize, ab: usize, masks: usize, gemmScratch: usize): void {
  memory.fill(tile, 0, <usize>rows * <usize>n << 2);
  for (let q = 0; q < count; q++) {
    const k = <i32>blockPtr(blocks, q, 3);
    const a = blockPtr(blocks, q, 1) + (<usize>row0 * <usize>k << 2);
    gemmWith(a, blockPtr(blocks, q, 2), ab, rows, k, n, false, false, 0, gemmScratch);
    addSigned(tile, ab, blockPtr(blocks, q, 0), row0, rows, n, masks);
  }
}

/**
 * Rows [i0, i1) (i0 a multiple of MT) of: batch 0, w (m×n) = W_b; batch ≥ 1, y (m×batch) = W_b·x
 * for x (n×batch), W_b rebuilt MT rows at a time and multiplied by the GEMM. `scratch`:
 * tilesScratchBytes(n, batch) bytes, the caller's — no arena use, so threads can run parts at once;
 * the tiles are those of a whole call (the same bits).
 */
export function tilesRows(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, out: usize, scratch: usize, i0: i32, i1: i32): void {
  const tileBytes = <usize>paddedBytes(<f64>MT * <f64>n * 4);
  const masks = scratch, ab = masks + <usize>paddedBytes(256 * 32), tile = ab + tileBytes;
  const gemmScratch = batch == 0 ? tile : tile + tileBytes;
  signMasks(masks);
  for (let r0 = i0; r0 < i1; r0 += MT) {
    const rows = min(MT, i1 - r0);
    if (batch == 0) {
      rebuildRows(blocks, count, r0, rows, n, out + (<usize>r0 * <usize>n << 2), ab, masks, gemmScratch);
    } else {
      rebuildRows(blocks, count, r0, rows, n, tile, ab, masks, gemmScratch);
      gemmWith(tile, x, out + (<usize>r0 * <usize>batch << 2), rows, n, batch, false, false, 0, gemmScratch);
    }
  }
}

/** w (m×n) = W_b from `count` blocks. */
export function reconstructTiles(blocks: usize, count: i32, m: i32, n: i32, w: usize): i32 {
  return tilesCall(blocks, count, m, n, 0, 0, w);
}

/** y (m×batch) = W_b·x for x (n×batch): W_b rebuilt MT rows at a time and multiplied by the GEMM. */
export function stackedMatmul(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, y: usize): i32 {
  return tilesCall(blocks, count, m, n, x, batch, y);
}

function tilesCall(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, out: usize): i32 {
  const saved = mark();
  const scratch = alloc(<usize>tilesScratchBytes(n, batch));
  if (scratch == 0) return OUT_OF_MEMORY;
  tilesRows(blocks, count, m, n, x, batch, out, scratch, 0, m);
  release(saved);
  return OK;
}

/** Bytes of rebuildRows' GEMM scratch: the product of MT rows of A (k ≤ 32) with B. */
@inline function rebuildScratchBytes(n: i32): f64 {
  return gemmScratchBytes(MT, 32, n, false, false);
}

/**
 * Scratch bytes of tilesRows (and arena bytes of reconstructTiles, batch 0, or stackedMatmul, batch ≥ 1);
 * blocks of rank ≤ 32: the sign masks, the A·B tile, the W tile (batch ≥ 1), the GEMMs' scratch.
 */
export function tilesScratchBytes(n: i32, batch: i32): f64 {
  const tile = paddedBytes(<f64>MT * <f64>n * 4);
  if (batch == 0) return paddedBytes(256 * 32) + tile + rebuildScratchBytes(n);
  return paddedBytes(256 * 32) + 2 * tile + max(rebuildScratchBytes(n), gemmScratchBytes(MT, n, batch, false, false));
}
