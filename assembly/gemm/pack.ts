// Packing of A and B blocks into the micro-panels the micro-kernel reads.
//
// A logical matrix is addressed by element strides: elem(i, j) = base[i*rs + j*cs]
// (row-major storage: rs = cols, cs = 1; a transposed operand swaps them), so
// transposes cost nothing beyond the packing pass.
//
// A row-major A needs no packing (the micro-kernel reads its rows in place);
// a transposed A is copied block by block into row-major order.
// B block (kc×nc) → ceil(nc/NR) panels, each kc rows of NR values:
//   dst[(panel*kc + p)*NR + c] = B(p0 + p, j0 + panel*NR + c), zero past nc.
// Zero padding lets the micro-kernel always run the full MR×NR tile.

import { NR } from './params';

/**
 * Copies the block rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) = Aᵀ, where A is
 * stored k×m row-major, into `dst` as an mc×kc row-major block (row stride kc),
 * so the micro-kernel reads it like a row-major A. 4×4 tiles are transposed in
 * registers; the edges are copied element by element.
 */
export function packTransposedA(a: usize, m: i32, i0: i32, p0: i32, mc: i32, kc: i32, dst: usize): void {
  const lda = <usize>m << 2, ldd = <usize>kc << 2;
  const mc4 = mc & ~3, kc4 = kc & ~3;
  for (let r = 0; r < mc4; r += 4) {
    const out = dst + <usize>r * ldd;
    let src = a + <usize>p0 * lda + (<usize>(i0 + r) << 2);
    for (let p = 0; p < kc4; p += 4) {
      const v0 = v128.load(src), v1 = v128.load(src + lda);
      const v2 = v128.load(src + 2 * lda), v3 = v128.load(src + 3 * lda);
      const lo01 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), lo23 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
      const hi01 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), hi23 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
      const o = out + (<usize>p << 2);
      v128.store(o, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
      v128.store(o + ldd, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
      v128.store(o + 2 * ldd, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
      v128.store(o + 3 * ldd, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
      src += 4 * lda;
    }
  }
  // Edges: columns past kc4 for the full row groups, then the rows past mc4.
  for (let r = 0; r < mc; r++) {
    for (let p = r < mc4 ? kc4 : 0; p < kc; p++) {
      store<f32>(dst + <usize>r * ldd + (<usize>p << 2), load<f32>(a + <usize>(p0 + p) * lda + (<usize>(i0 + r) << 2)));
    }
  }
}

/** Packs rows [p0, p0+kc) × cols [j0, j0+nc) of B (element strides rs, cs) into NR-wide panels. */
export function packB(b: usize, rs: i32, cs: i32, p0: i32, j0: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    const panel = dst + (<usize>(j * kc) << 2);
    if (cols == NR && cs == 1) {
      // Row-major B: the NR values of one row are contiguous.
      let src = b + (<usize>(p0 * rs + j0 + j) << 2);
      const step = <usize>rs << 2;
      for (let p = 0; p < kc; p++) {
        const out = panel + (<usize>(p * NR) << 2);
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += step;
      }
    } else {
      for (let c = 0; c < NR; c++) {
        let out = panel + (<usize>c << 2);
        if (c < cols) {
          let src = b + (<usize>(p0 * rs + (j0 + j + c) * cs) << 2);
          const step = <usize>rs << 2;
          for (let p = 0; p < kc; p++) {
            store<f32>(out, load<f32>(src));
            src += step;
            out += <usize>NR << 2;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f32>(out, 0);
            out += <usize>NR << 2;
          }
        }
      }
    }
  }
}
