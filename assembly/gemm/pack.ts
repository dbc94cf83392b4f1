// Packing of A and B blocks into the micro-panels the micro-kernel reads.
//
// A logical matrix is addressed by element strides: elem(i, j) = base[i*rs + j*cs]
// (row-major storage: rs = cols, cs = 1; a transposed operand swaps them), so
// transposes cost nothing beyond the packing pass.
//
// A block (mc×kc) → ceil(mc/MR) panels, each kc columns of MR values:
//   dst[(panel*kc + p)*MR + r] = A(i0 + panel*MR + r, p0 + p), zero past mc.
// B block (kc×nc) → ceil(nc/NR) panels, each kc rows of NR values:
//   dst[(panel*kc + p)*NR + c] = B(p0 + p, j0 + panel*NR + c), zero past nc.
// Zero padding lets the micro-kernel always run the full MR×NR tile.

import { MR, NR } from './params';

/** Packs rows [i0, i0+mc) × cols [p0, p0+kc) of A (element strides rs, cs) into MR-high panels. */
export function packA(a: usize, rs: i32, cs: i32, i0: i32, p0: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i = 0; i < mc; i += MR) {
    const rows = min(MR, mc - i);
    const panel = dst + (<usize>(i * kc) << 2);
    if (rows == MR && rs == 1) {
      // Transposed A: the MR values of one column are contiguous.
      let src = a + (<usize>((i0 + i) + p0 * cs) << 2);
      const step = <usize>cs << 2;
      for (let p = 0; p < kc; p++) {
        v128.store(panel + (<usize>(p * MR) << 2), v128.load(src));
        src += step;
      }
    } else {
      for (let r = 0; r < MR; r++) {
        let out = panel + (<usize>r << 2);
        if (r < rows) {
          let src = a + (<usize>((i0 + i + r) * rs + p0 * cs) << 2);
          const step = <usize>cs << 2;
          for (let p = 0; p < kc; p++) {
            store<f32>(out, load<f32>(src));
            src += step;
            out += <usize>MR << 2;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f32>(out, 0);
            out += <usize>MR << 2;
          }
        }
      }
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
