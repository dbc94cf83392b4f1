// f32 GEMV micro-kernels, wasm SIMD128. Memory-bound: each reads the matrix
// exactly once, streaming along its rows.
//
// gemv_dot_4x8:  y(rows)  = M · x     M rows×cols row-major: 4 rows in flight,
//                                    two vectors of columns per step, 8 accumulators
// gemv_axpy_4x4: y(cols)  = Mᵀ · x    the same storage read as rows: y += Σ x[p]·M[p,:],
//                                    4 rows per pass over a 2048-column chunk of y (in L1)
// Summation orders are fixed by the code alone, so results are deterministic.

import { madd } from '../simd';

@inline function hsum(v: v128): f32 {
  // ((l0 + l2) + (l1 + l3)): a fixed order.
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** Dot products of the 4 rows starting at `m` (row stride `ld` bytes) with x into y[0..4]: an accumulator pair per row. */
@inline function dotRows4(m: usize, ld: usize, cols: i32, x: usize, y: usize): void {
  const r0 = m, r1 = m + ld, r2 = m + 2 * ld, r3 = m + 3 * ld;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= cols; j += 8) {
    const o = <usize>j << 2;
    const xl = v128.load(x + o), xh = v128.load(x + o, 16);
    a0 = madd(v128.load(r0 + o), xl, a0); b0 = madd(v128.load(r0 + o, 16), xh, b0);
    a1 = madd(v128.load(r1 + o), xl, a1); b1 = madd(v128.load(r1 + o, 16), xh, b1);
    a2 = madd(v128.load(r2 + o), xl, a2); b2 = madd(v128.load(r2 + o, 16), xh, b2);
    a3 = madd(v128.load(r3 + o), xl, a3); b3 = madd(v128.load(r3 + o, 16), xh, b3);
  }
  if (j + 4 <= cols) {
    const o = <usize>j << 2;
    const xl = v128.load(x + o);
    a0 = madd(v128.load(r0 + o), xl, a0);
    a1 = madd(v128.load(r1 + o), xl, a1);
    a2 = madd(v128.load(r2 + o), xl, a2);
    a3 = madd(v128.load(r3 + o), xl, a3);
    j += 4;
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1));
  let s2 = hsum(f32x4.add(a2, b2)), s3 = hsum(f32x4.add(a3, b3));
  for (; j < cols; j++) {
    const o = <usize>j << 2;
    const xj = load<f32>(x + o);
    s0 += load<f32>(r0 + o) * xj;
    s1 += load<f32>(r1 + o) * xj;
    s2 += load<f32>(r2 + o) * xj;
    s3 += load<f32>(r3 + o) * xj;
  }
  store<f32>(y, s0); store<f32>(y, s1, 4); store<f32>(y, s2, 8); store<f32>(y, s3, 12);
}

/** y[i] = Σ_j M[i][j]·x[j] for rows×cols row-major M (row stride `ld` elements). */
export function gemv_dot_4x8(m: usize, ld: i32, rows: i32, cols: i32, x: usize, y: usize): void {
  const ldb = <usize>ld << 2;
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    dotRows4(m + <usize>i * ldb, ldb, cols, x, y + (<usize>i << 2));
  }
  // Leftover rows: the same arithmetic, one row (the 4-row kernel reads past nothing).
  for (; i < rows; i++) {
    const r = m + <usize>i * ldb;
    let a = f32x4.splat(0), b = f32x4.splat(0);
    let j = 0;
    for (; j + 8 <= cols; j += 8) {
      const o = <usize>j << 2;
      a = madd(v128.load(r + o), v128.load(x + o), a);
      b = madd(v128.load(r + o, 16), v128.load(x + o, 16), b);
    }
    if (j + 4 <= cols) {
      const o = <usize>j << 2;
      a = madd(v128.load(r + o), v128.load(x + o), a);
      j += 4;
    }
    let s = hsum(f32x4.add(a, b));
    for (; j < cols; j++) s += load<f32>(r + (<usize>j << 2)) * load<f32>(x + (<usize>j << 2));
    store<f32>(y + (<usize>i << 2), s);
  }
}

const CHUNK: i32 = 2048;

/** y[j] = Σ_p M[p][j]·x[p] for rows×cols row-major M (row stride `ld` elements): y = Mᵀx. */
export function gemv_axpy_4x4(m: usize, ld: i32, rows: i32, cols: i32, x: usize, y: usize): void {
  const ldb = <usize>ld << 2;
  memory.fill(y, 0, <usize>cols << 2);
  for (let j0 = 0; j0 < cols; j0 += CHUNK) {
    const j1 = min(cols, j0 + CHUNK);
    const j4 = j0 + ((j1 - j0) & ~3);
    let p = 0;
    for (; p + 4 <= rows; p += 4) {
      const r0 = m + <usize>p * ldb, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
      const xp = x + (<usize>p << 2);
      const x0 = v128.load32_splat(xp), x1 = v128.load32_splat(xp, 4);
      const x2 = v128.load32_splat(xp, 8), x3 = v128.load32_splat(xp, 12);
      for (let j = j0; j < j4; j += 4) {
        const o = <usize>j << 2;
        let acc = v128.load(y + o);
        acc = madd(x0, v128.load(r0 + o), acc);
        acc = madd(x1, v128.load(r1 + o), acc);
        acc = madd(x2, v128.load(r2 + o), acc);
        acc = madd(x3, v128.load(r3 + o), acc);
        v128.store(y + o, acc);
      }
      for (let j = j4; j < j1; j++) {
        const o = <usize>j << 2;
        let acc = load<f32>(y + o);
        acc += load<f32>(xp) * load<f32>(r0 + o);
        acc += load<f32>(xp, 4) * load<f32>(r1 + o);
        acc += load<f32>(xp, 8) * load<f32>(r2 + o);
        acc += load<f32>(xp, 12) * load<f32>(r3 + o);
        store<f32>(y + o, acc);
      }
    }
    for (; p < rows; p++) {
      const r = m + <usize>p * ldb;
      const xs = load<f32>(x + (<usize>p << 2));
      const xv = f32x4.splat(xs);
      for (let j = j0; j < j4; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, madd(xv, v128.load(r + o), v128.load(y + o)));
      }
      for (let j = j4; j < j1; j++) {
        const o = <usize>j << 2;
        store<f32>(y + o, load<f32>(y + o) + xs * load<f32>(r + o));
      }
    }
  }
}

/**
 * Four NR(8)-wide packed panels of one KC block (`pstride` bytes apart, kc rows each) times x[0..kc],
 * added to y[0..32] (started from zero when `first`): eight accumulators, one row of the four panels
 * (eight loads) per step. Four rows per step (x loaded once, each lane splatted) was slower: V8
 * hoisted the 32 loads and spilled most of them to the stack (4096², one core, `node
 * bench/gemv-xw.mjs`: 10–12 GB/s against 14–17 now).
 */
function panels4(w: usize, pstride: usize, kc: i32, x: usize, y: usize, first: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  if (!first) {
    a0 = v128.load(y); a1 = v128.load(y, 16); a2 = v128.load(y, 32); a3 = v128.load(y, 48);
    a4 = v128.load(y, 64); a5 = v128.load(y, 80); a6 = v128.load(y, 96); a7 = v128.load(y, 112);
  }
  let s0 = w, s1 = w + pstride, s2 = w + pstride * 2, s3 = w + pstride * 3;
  let p = 0;
  for (; p < kc; p++) {
    const xv = v128.load32_splat(x + (<usize>p << 2));
    a0 = madd(xv, v128.load(s0), a0); a1 = madd(xv, v128.load(s0, 16), a1);
    a2 = madd(xv, v128.load(s1), a2); a3 = madd(xv, v128.load(s1, 16), a3);
    a4 = madd(xv, v128.load(s2), a4); a5 = madd(xv, v128.load(s2, 16), a5);
    a6 = madd(xv, v128.load(s3), a6); a7 = madd(xv, v128.load(s3, 16), a7);
    s0 += 32; s1 += 32; s2 += 32; s3 += 32;
  }
  v128.store(y, a0); v128.store(y, a1, 16); v128.store(y, a2, 32); v128.store(y, a3, 48);
  v128.store(y, a4, 64); v128.store(y, a5, 80); v128.store(y, a6, 96); v128.store(y, a7, 112);
}

/** One packed panel (kc rows of 8 floats) times x[0..kc] into the 8 floats at `tile` (added to them unless `first`). */
function panel1(w: usize, kc: i32, x: usize, tile: usize, first: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  if (!first) { a0 = v128.load(tile); a1 = v128.load(tile, 16); }
  for (let p = 0; p < kc; p++) {
    const xv = v128.load32_splat(x + (<usize>p << 2));
    a0 = madd(xv, v128.load(w), a0); a1 = madd(xv, v128.load(w, 16), a1);
    w += 32;
  }
  v128.store(tile, a0); v128.store(tile, a1, 16);
}

/**
 * y = x·B for a k-vector x and op(B) (k×n) already packed by packWholeB (NC-wide blocks of KC-deep,
 * NR(8)-wide panels): the packed weights are read once, front to back, as XNNPACK's GEMV reads its
 * pre-packed weights. Four panels (32 columns of y) at a time: four streams in flight (one
 * panel at a time, a single stream, measured slower). The summation order per
 * y[j] is p ascending from 0 — gemv_axpy_4x4's — so results are the same bits.
 * Only columns [n0, n1) of y (n0 a multiple of 8; n1 one or n): a thread's part, the same bits.
 */
export function gemv_packed_1x32(packed: usize, k: i32, n: i32, x: usize, y: usize, kcMax: i32, ncMax: i32, tile: usize, n0: i32, n1: i32): void {
  let block = packed;
  for (let jc = 0; jc < n; jc += ncMax) {
    const nc = min(ncMax, n - jc);
    const panels = (nc + 7) >> 3;
    // This part's panels of the block.
    const qa = min(panels, max(0, (n0 - jc) >> 3)), qb = min(panels, max(0, (n1 - jc + 7) >> 3));
    for (let pc = 0; pc < k; pc += kcMax) {
      const kc = min(kcMax, k - pc);
      const pstride = <usize>kc << 5; // one panel: kc rows of 8 floats
      const xs = x + (<usize>pc << 2);
      let q = qa;
      for (; q + 4 <= qb && (jc + (q + 4) * 8) <= n; q += 4) {
        panels4(block + <usize>q * pstride, pstride, kc, xs, y + (<usize>(jc + q * 8) << 2), pc == 0);
      }
      // The remaining panels one at a time, through `tile` (8 floats): the last may be partial.
      for (; q < qb; q++) {
        const cols = min(8, n - (jc + q * 8));
        const yo = y + (<usize>(jc + q * 8) << 2);
        for (let c = 0; c < 8; c++) store<f32>(tile + (<usize>c << 2), c < cols ? load<f32>(yo + (<usize>c << 2)) : 0);
        panel1(block + <usize>q * pstride, kc, xs, tile, pc == 0);
        for (let c = 0; c < cols; c++) store<f32>(yo + (<usize>c << 2), load<f32>(tile + (<usize>c << 2)));
      }
      block += <usize>panels * pstride;
    }
  }
}
