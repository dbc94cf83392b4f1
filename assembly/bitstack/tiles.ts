// Dense tiles of W_b = Σ_blocks S ⊙ (A·B), rebuilt in cache: for reconstruct()
// and for batched products (prefill), where a tile of rows is rebuilt and the
// GEMM micro-kernel multiplies it with the batch, so W_b is never held whole.
// Blocks are passed as a list of 4 u32 each: signs, A (f32 m×k), B (f32 k×n), k.

import { alloc, mark, release, paddedBytes } from '../arena';
import { gemm, gemmScratchBytes } from '../gemm/driver';
import { signAt } from './signs';
import { OK, OUT_OF_MEMORY } from '../status';


/** Rows of W rebuilt at a time by stackedMatmul (tile of MT×n floats). */
const MT: i32 = 32;

/** 256 entries × 8 lanes of u32: 0 where the sign bit is set (+1), 0x80000000 where clear (−1). */
function signMasks(): usize {
  const t = alloc(256 * 32);
  if (t == 0) return 0;
  for (let b = 0; b < 256; b++) {
    for (let j = 0; j < 8; j++) store<u32>(t + <usize>(b * 32 + j * 4), (b >> (7 - j)) & 1 ? 0 : 0x80000000);
  }
  return t;
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

/** Rebuilds rows [row0, row0+rows) of W_b into tile (rows×n, overwritten). */
function rebuildRows(blocks: usize, count: i32, row0: i32, rows: i32, n: i32, tile: usize, ab: usize, masks: usize): bool {
  memory.fill(tile, 0, <usize>rows * <usize>n << 2);
  for (let q = 0; q < count; q++) {
    const k = <i32>blockPtr(blocks, q, 3);
    const a = blockPtr(blocks, q, 1) + (<usize>row0 * <usize>k << 2);
    if (gemm(a, blockPtr(blocks, q, 2), ab, rows, k, n, false, false, 0) != 0) return false;
    addSigned(tile, ab, blockPtr(blocks, q, 0), row0, rows, n, masks);
  }
  return true;
}

/** w (m×n) = W_b from `count` blocks. */
export function reconstructTiles(blocks: usize, count: i32, m: i32, n: i32, w: usize): i32 {
  const saved = mark();
  const ab = alloc(<usize>MT * <usize>n << 2), masks = signMasks();
  if (ab == 0 || masks == 0) { release(saved); return OUT_OF_MEMORY; }
  for (let i0 = 0; i0 < m; i0 += MT) {
    const rows = min(MT, m - i0);
    if (!rebuildRows(blocks, count, i0, rows, n, w + (<usize>i0 * <usize>n << 2), ab, masks)) { release(saved); return OUT_OF_MEMORY; }
  }
  release(saved);
  return OK;
}

/** y (m×batch) = W_b·x for x (n×batch): W_b rebuilt MT rows at a time and multiplied by the GEMM. */
export function stackedMatmul(blocks: usize, count: i32, m: i32, n: i32, x: usize, batch: i32, y: usize): i32 {
  const saved = mark();
  const tile = alloc(<usize>MT * <usize>n << 2), ab = alloc(<usize>MT * <usize>n << 2), masks = signMasks();
  if (tile == 0 || ab == 0 || masks == 0) { release(saved); return OUT_OF_MEMORY; }
  for (let i0 = 0; i0 < m; i0 += MT) {
    const rows = min(MT, m - i0);
    if (!rebuildRows(blocks, count, i0, rows, n, tile, ab, masks)) { release(saved); return OUT_OF_MEMORY; }
    if (gemm(tile, x, y + (<usize>i0 * <usize>batch << 2), rows, n, batch, false, false, 0) != 0) { release(saved); return OUT_OF_MEMORY; }
  }
  release(saved);
  return OK;
}

/** Arena bytes reconstructTiles() (batch 0) or stackedMatmul() (batch ≥ 1) allocate; blocks of rank ≤ 32. */
export function tilesScratchBytes(n: i32, batch: i32): f64 {
  const tile = paddedBytes(<f64>MT * <f64>n * 4);
  const rebuild = gemmScratchBytes(MT, 32, n, false, false);
  if (batch == 0) return tile + paddedBytes(256 * 32) + rebuild;
  return 2 * tile + paddedBytes(256 * 32) + max(rebuild, gemmScratchBytes(MT, n, batch, false, false));
}
