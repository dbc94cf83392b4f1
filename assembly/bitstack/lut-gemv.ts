// y += Σ_r a_r ⊙ (S·(b_r ⊙ x)) for one BitStack block, without building W:
// S (m×n, ±1) packed as in signs.ts, a_r the columns of A (m×k), b_r the rows
// of B (k×n), k ≤ 32: ranks are taken 16 at a time (a chunk past k is zero-padded).
//
// Lookup tables over groups of 8 sign bits (as T-MAC does): for a group of 8
// input columns, T[byte] holds, for all 16 ranks at once (four v128), the
// signed sum Σ_j ±z_r[j] with z_r = b_r ⊙ x and the signs that `byte` spells.
// Each row then adds one table entry per group instead of 8·k multiply-adds.
// Tables are built for a chunk of GROUPS groups at a time (GROUPS × 16 KB, in
// L2) and every row walks that chunk, two rows in flight so the adds of one
// row do not wait on each other; per-row partial sums live in `acc` (m×16)
// between chunks. Summation order is fixed: results are deterministic.

const ENTRY: usize = 64;        // table entry: 16 ranks × f32
const TABLE: usize = 256 * 64;  // one group's table: 16 KB
const GROUPS: i32 = 32;         // groups per chunk: 512 KB of tables

/** The 8 sign bits of row-major positions [bit, bit+8), MSB first (reads one byte past when unaligned). */
@inline function bitsAt(signs: usize, bit: i64): u32 {
  const p = signs + <usize>(bit >> 3);
  const sh = <u32>(bit & 7);
  if (sh == 0) return <u32>load<u8>(p);
  return ((<u32>load<u8>(p) << 8 | <u32>load<u8>(p, 1)) >> (8 - sh)) & 0xff;
}

/**
 * Builds the tables of groups [g0, g1) into `tables`: z[j][r] = b[r][8g+j]·x[8g+j]
 * for r < k (≤ 16) and 8g+j < n, else 0.
 */
function buildTables(b: usize, k: i32, n: i32, x: usize, g0: i32, g1: i32, tables: usize, z: usize): void {
  for (let g = g0; g < g1; g++) {
    // z: 8 entries of 16 ranks.
    memory.fill(z, 0, 8 * ENTRY);
    for (let j = 0; j < 8; j++) {
      const col = 8 * g + j;
      if (col >= n) break;
      const xv = load<f32>(x + (<usize>col << 2));
      for (let r = 0; r < k; r++) {
        store<f32>(z + <usize>j * ENTRY + (<usize>r << 2), load<f32>(b + ((<usize>r * <usize>n + <usize>col) << 2)) * xv);
      }
    }
    const t = tables + <usize>(g - g0) * TABLE;
    // T[0] = −Σ_j z_j (all signs −1).
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let j = 0; j < 8; j++) {
      const zj = z + <usize>j * ENTRY;
      s0 = f32x4.sub(s0, v128.load(zj)); s1 = f32x4.sub(s1, v128.load(zj, 16));
      s2 = f32x4.sub(s2, v128.load(zj, 32)); s3 = f32x4.sub(s3, v128.load(zj, 48));
    }
    v128.store(t, s0); v128.store(t, s1, 16); v128.store(t, s2, 32); v128.store(t, s3, 48);
    // Bit t (value 1<<t) stands for element 7−t: T[b | 1<<t] = T[b] + 2·z_{7−t}.
    for (let bit = 0; bit < 8; bit++) {
      const zj = z + <usize>(7 - bit) * ENTRY;
      const two = f32x4.splat(2);
      const d0 = f32x4.mul(two, v128.load(zj)), d1 = f32x4.mul(two, v128.load(zj, 16));
      const d2 = f32x4.mul(two, v128.load(zj, 32)), d3 = f32x4.mul(two, v128.load(zj, 48));
      const step = 1 << bit;
      for (let e = 0; e < step; e++) {
        const src = t + <usize>e * ENTRY, dst = t + <usize>(e | step) * ENTRY;
        v128.store(dst, f32x4.add(v128.load(src), d0));
        v128.store(dst, f32x4.add(v128.load(src, 16), d1), 16);
        v128.store(dst, f32x4.add(v128.load(src, 32), d2), 32);
        v128.store(dst, f32x4.add(v128.load(src, 48), d3), 48);
      }
    }
  }
}

/**
 * y[i] += Σ_r a[i][r]·(S·z_r)[i]. `scratch`: at least lutScratchBytes(m) bytes.
 * a: m×k f32 (row-major), b: k×n f32, x: n f32, y: m f32; k ≤ 32, in chunks of 16 ranks
 * (chunk by chunk into y, so k ≤ 16 sums exactly as one chunk).
 */
export function lutGemv(signs: usize, m: i32, n: i32, a: usize, b: usize, k: i32, x: usize, y: usize, scratch: usize): void {
  lutGemvRows(signs, n, a, b, k, x, y, scratch, 0, m);
}

/**
 * lutGemv for rows [i0, i1) only (scratch: lutScratchBytes(i1 − i0)). Each row's sums do not
 * depend on the others: a thread's rows are bit-identical to those of a whole call.
 */
export function lutGemvRows(signs: usize, n: i32, a: usize, b: usize, k: i32, x: usize, y: usize, scratch: usize, i0: i32, i1: i32): void {
  if (i1 <= i0) return;
  if (k <= 4) {
    lutGemvNarrow(signs, n, a, b, k, x, y, scratch, i0, i1);
    return;
  }
  for (let r0 = 0; r0 < k; r0 += 16) {
    lutGemvChunk(signs, n, a + (<usize>r0 << 2), k, b + (<usize>r0 * <usize>n << 2), min(16, k - r0), x, y, scratch, i0, i1);
  }
}

/** Rows [i0, i1) for ranks [r0, r0 + kc) (kc ≤ 16): a points at column r0 of A (row stride lda), b at row r0 of B. */
function lutGemvChunk(signs: usize, n: i32, a: usize, lda: i32, b: usize, k: i32, x: usize, y: usize, scratch: usize, i0: i32, i1: i32): void {
  const groups = (n + 7) >> 3;
  const tables = scratch, z = tables + <usize>GROUPS * TABLE, acc = z + 8 * ENTRY;
  memory.fill(acc, 0, <usize>(i1 - i0) * ENTRY);
  const rowBits = <i64>n;
  const aligned = (n & 7) == 0;
  const rowBytes = <usize>(n >> 3);
  for (let g0 = 0; g0 < groups; g0 += GROUPS) {
    const g1 = min(groups, g0 + GROUPS);
    buildTables(b, k, n, x, g0, g1, tables, z);
    let i = i0;
    for (; i + 2 <= i1; i += 2) {
      const pa = acc + <usize>(i - i0) * ENTRY, pb = pa + ENTRY;
      let a0 = v128.load(pa), a1 = v128.load(pa, 16), a2 = v128.load(pa, 32), a3 = v128.load(pa, 48);
      let b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
      if (aligned) {
        // Rows start on a byte: one byte load per group and row.
        let sa = signs + <usize>i * rowBytes + <usize>g0, sb = sa + rowBytes;
        let t = tables;
        for (let g = g0; g < g1; g++) {
          const ea = t + (<usize>load<u8>(sa) << 6), eb = t + (<usize>load<u8>(sb) << 6);
          a0 = f32x4.add(a0, v128.load(ea)); a1 = f32x4.add(a1, v128.load(ea, 16));
          a2 = f32x4.add(a2, v128.load(ea, 32)); a3 = f32x4.add(a3, v128.load(ea, 48));
          b0 = f32x4.add(b0, v128.load(eb)); b1 = f32x4.add(b1, v128.load(eb, 16));
          b2 = f32x4.add(b2, v128.load(eb, 32)); b3 = f32x4.add(b3, v128.load(eb, 48));
          sa++; sb++; t += TABLE;
        }
      } else {
        const bitA = <i64>i * rowBits, bitB = bitA + rowBits;
        for (let g = g0; g < g1; g++) {
          const t = tables + <usize>(g - g0) * TABLE;
          const ea = t + <usize>bitsAt(signs, bitA + 8 * <i64>g) * ENTRY;
          const eb = t + <usize>bitsAt(signs, bitB + 8 * <i64>g) * ENTRY;
          a0 = f32x4.add(a0, v128.load(ea)); a1 = f32x4.add(a1, v128.load(ea, 16));
          a2 = f32x4.add(a2, v128.load(ea, 32)); a3 = f32x4.add(a3, v128.load(ea, 48));
          b0 = f32x4.add(b0, v128.load(eb)); b1 = f32x4.add(b1, v128.load(eb, 16));
          b2 = f32x4.add(b2, v128.load(eb, 32)); b3 = f32x4.add(b3, v128.load(eb, 48));
        }
      }
      v128.store(pa, a0); v128.store(pa, a1, 16); v128.store(pa, a2, 32); v128.store(pa, a3, 48);
      v128.store(pb, b0); v128.store(pb, b1, 16); v128.store(pb, b2, 32); v128.store(pb, b3, 48);
    }
    if (i < i1) {
      const pa = acc + <usize>(i - i0) * ENTRY;
      let a0 = v128.load(pa), a1 = v128.load(pa, 16), a2 = v128.load(pa, 32), a3 = v128.load(pa, 48);
      const bitA = <i64>i * rowBits;
      for (let g = g0; g < g1; g++) {
        const ea = tables + <usize>(g - g0) * TABLE + <usize>bitsAt(signs, bitA + 8 * <i64>g) * ENTRY;
        a0 = f32x4.add(a0, v128.load(ea)); a1 = f32x4.add(a1, v128.load(ea, 16));
        a2 = f32x4.add(a2, v128.load(ea, 32)); a3 = f32x4.add(a3, v128.load(ea, 48));
      }
      v128.store(pa, a0); v128.store(pa, a1, 16); v128.store(pa, a2, 32); v128.store(pa, a3, 48);
    }
  }
  // y[i] += Σ_r a[i][r]·acc[i][r], ranks in order.
  for (let i = i0; i < i1; i++) {
    const pa = acc + <usize>(i - i0) * ENTRY, ai = a + (<usize>i * <usize>lda << 2);
    let s: f32 = 0;
    for (let r = 0; r < k; r++) s += load<f32>(ai + (<usize>r << 2)) * load<f32>(pa + (<usize>r << 2));
    store<f32>(y + (<usize>i << 2), load<f32>(y + (<usize>i << 2)) + s);
  }
}

// Ranks 1…4 (rank 'auto' picks them for early blocks): the same tables and sums with
// one v128 per entry (4 ranks) instead of four, so building and reading them costs a
// quarter. Each lane does exactly the arithmetic of the same lane of the 16-rank
// kernel, in the same order: the results are bit-identical to it.

const ENTRY4: usize = 16;          // table entry: 4 ranks × f32
const TABLE4: usize = 256 * 16;    // one group's table: 4 KB
const GROUPS4: i32 = 128;          // groups per chunk: 512 KB of tables

/** buildTables for k ≤ 4: entries of 4 ranks. */
function buildTables4(b: usize, k: i32, n: i32, x: usize, g0: i32, g1: i32, tables: usize, z: usize): void {
  for (let g = g0; g < g1; g++) {
    memory.fill(z, 0, 8 * ENTRY4);
    for (let j = 0; j < 8; j++) {
      const col = 8 * g + j;
      if (col >= n) break;
      const xv = load<f32>(x + (<usize>col << 2));
      for (let r = 0; r < k; r++) {
        store<f32>(z + <usize>j * ENTRY4 + (<usize>r << 2), load<f32>(b + ((<usize>r * <usize>n + <usize>col) << 2)) * xv);
      }
    }
    const t = tables + <usize>(g - g0) * TABLE4;
    let s0 = f32x4.splat(0);
    for (let j = 0; j < 8; j++) s0 = f32x4.sub(s0, v128.load(z + <usize>j * ENTRY4));
    v128.store(t, s0);
    for (let bit = 0; bit < 8; bit++) {
      const d0 = f32x4.mul(f32x4.splat(2), v128.load(z + <usize>(7 - bit) * ENTRY4));
      const step = 1 << bit;
      for (let e = 0; e < step; e++) {
        v128.store(t + <usize>(e | step) * ENTRY4, f32x4.add(v128.load(t + <usize>e * ENTRY4), d0));
      }
    }
  }
}

/** lutGemvRows for k ≤ 4 (same contract and scratch). */
function lutGemvNarrow(signs: usize, n: i32, a: usize, b: usize, k: i32, x: usize, y: usize, scratch: usize, i0: i32, i1: i32): void {
  const groups = (n + 7) >> 3;
  const tables = scratch, z = tables + <usize>GROUPS4 * TABLE4, acc = z + 8 * ENTRY4;
  memory.fill(acc, 0, <usize>(i1 - i0) * ENTRY4);
  const rowBits = <i64>n;
  const aligned = (n & 7) == 0;
  const rowBytes = <usize>(n >> 3);
  for (let g0 = 0; g0 < groups; g0 += GROUPS4) {
    const g1 = min(groups, g0 + GROUPS4);
    buildTables4(b, k, n, x, g0, g1, tables, z);
    let i = i0;
    for (; i + 2 <= i1; i += 2) {
      const pa = acc + <usize>(i - i0) * ENTRY4, pb = pa + ENTRY4;
      let a0 = v128.load(pa), b0 = v128.load(pb);
      if (aligned) {
        let sa = signs + <usize>i * rowBytes + <usize>g0, sb = sa + rowBytes;
        let t = tables;
        for (let g = g0; g < g1; g++) {
          a0 = f32x4.add(a0, v128.load(t + (<usize>load<u8>(sa) << 4)));
          b0 = f32x4.add(b0, v128.load(t + (<usize>load<u8>(sb) << 4)));
          sa++; sb++; t += TABLE4;
        }
      } else {
        const bitA = <i64>i * rowBits, bitB = bitA + rowBits;
        for (let g = g0; g < g1; g++) {
          const t = tables + <usize>(g - g0) * TABLE4;
          a0 = f32x4.add(a0, v128.load(t + <usize>bitsAt(signs, bitA + 8 * <i64>g) * ENTRY4));
          b0 = f32x4.add(b0, v128.load(t + <usize>bitsAt(signs, bitB + 8 * <i64>g) * ENTRY4));
        }
      }
      v128.store(pa, a0);
      v128.store(pb, b0);
    }
    if (i < i1) {
      const pa = acc + <usize>(i - i0) * ENTRY4;
      let a0 = v128.load(pa);
      const bitA = <i64>i * rowBits;
      for (let g = g0; g < g1; g++) {
        a0 = f32x4.add(a0, v128.load(tables + <usize>(g - g0) * TABLE4 + <usize>bitsAt(signs, bitA + 8 * <i64>g) * ENTRY4));
      }
      v128.store(pa, a0);
    }
  }
  for (let i = i0; i < i1; i++) {
    const pa = acc + <usize>(i - i0) * ENTRY4, ai = a + (<usize>i * <usize>k << 2);
    let s: f32 = 0;
    for (let r = 0; r < k; r++) s += load<f32>(ai + (<usize>r << 2)) * load<f32>(pa + (<usize>r << 2));
    store<f32>(y + (<usize>i << 2), load<f32>(y + (<usize>i << 2)) + s);
  }
}

/** Scratch bytes lutGemv needs for m rows (the narrow kernel needs less). */
export function lutScratchBytes(m: i32): usize {
  return <usize>GROUPS * TABLE + 8 * ENTRY + <usize>m * ENTRY;
}

