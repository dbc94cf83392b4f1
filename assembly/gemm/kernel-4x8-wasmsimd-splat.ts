// f32 GEMM micro-kernel, 4×8 tile, wasm SIMD128, broadcast ("splat") of A.
//
// C[0..4, 0..8] (=|+=) A(4×kc) · Bpanel(kc×8).
// A is read in place through four row pointers (rows of a row-major matrix, or
// of a transposed block that pack.ts wrote row-major); B is an NR-wide packed
// panel. The 4×8 accumulator lives in eight v128 locals. Per step of k: two
// vector loads of B, four splat loads of A, eight multiply-adds.
// Not unrolled: unrolling by two measured 10% slower (V8 hoists the loads of
// the second step and spills accumulators); see bench/matmul.mjs.
// `ldc` is the row stride of C in bytes. With `accumulate`, the tile is added
// to C (C + tile), otherwise C is overwritten.

import { madd } from '../simd';

export function gemm_4x8_wasmsimd_splat(
  kc: i32, a0: usize, a1: usize, a2: usize, a3: usize,
  b: usize, c: usize, ldc: usize, accumulate: bool,
): void {
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  const bEnd = b + (<usize>kc << 5);
  while (b < bEnd) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    const x0 = v128.load32_splat(a0);
    c0l = madd(x0, bl, c0l); c0h = madd(x0, bh, c0h);
    const x1 = v128.load32_splat(a1);
    c1l = madd(x1, bl, c1l); c1h = madd(x1, bh, c1h);
    const x2 = v128.load32_splat(a2);
    c2l = madd(x2, bl, c2l); c2h = madd(x2, bh, c2h);
    const x3 = v128.load32_splat(a3);
    c3l = madd(x3, bl, c3l); c3h = madd(x3, bh, c3h);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4;
    b += 32;
  }
  const r0 = c, r1 = c + ldc, r2 = c + 2 * ldc, r3 = c + 3 * ldc;
  if (accumulate) {
    c0l = f32x4.add(v128.load(r0), c0l); c0h = f32x4.add(v128.load(r0, 16), c0h);
    c1l = f32x4.add(v128.load(r1), c1l); c1h = f32x4.add(v128.load(r1, 16), c1h);
    c2l = f32x4.add(v128.load(r2), c2l); c2h = f32x4.add(v128.load(r2, 16), c2h);
    c3l = f32x4.add(v128.load(r3), c3l); c3h = f32x4.add(v128.load(r3, 16), c3h);
  }
  v128.store(r0, c0l); v128.store(r0, c0h, 16);
  v128.store(r1, c1l); v128.store(r1, c1h, 16);
  v128.store(r2, c2l); v128.store(r2, c2h, 16);
  v128.store(r3, c3l); v128.store(r3, c3h, 16);
}
