// f32 GEMM micro-kernel, 4×8 tile, wasm SIMD128, broadcast ("splat") of A.
//
// C[0..4, 0..8] (=|+=) Apanel(4×kc) · Bpanel(kc×8), both packed by pack.ts.
// The 4×8 accumulator lives in eight v128 locals; per step of k it loads two
// vectors of B and splats four scalars of A: 8 multiply-adds per 6 loads.
// `ldc` is the row stride of C in bytes. With `accumulate`, C is read and the
// tile added to it (C + tile), otherwise C is overwritten.

import { madd } from '../simd';

export function gemm_4x8_wasmsimd_splat(kc: i32, a: usize, b: usize, c: usize, ldc: usize, accumulate: bool): void {
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    c0l = madd(a0, bl, c0l);
    c0h = madd(a0, bh, c0h);
    const a1 = v128.load32_splat(a, 4);
    c1l = madd(a1, bl, c1l);
    c1h = madd(a1, bh, c1h);
    const a2 = v128.load32_splat(a, 8);
    c2l = madd(a2, bl, c2l);
    c2h = madd(a2, bh, c2h);
    const a3 = v128.load32_splat(a, 12);
    c3l = madd(a3, bl, c3l);
    c3h = madd(a3, bh, c3h);
    a += 16;
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
