// f64 matrix product for the f64 randomized SVD: C = op(A)·op(B), row-major.
// A plain SIMD i-p-j loop (rows of C updated by axpys of rows of op(B), f64x2):
// the f64 path is for accuracy, the f32 path (driver.ts) for speed. A
// transposed B is first copied to row-major scratch so the inner loop is
// contiguous. The summation order is fixed: deterministic.

import { alloc, mark, release, paddedBytes } from '../arena';

export function gemmF64(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool): i32 {
  const saved = mark();
  let bRows = b;
  if (transB) {
    // B stored n×k → row-major k×n.
    bRows = alloc(<usize>k * <usize>n << 3);
    if (bRows == 0) { release(saved); return 1; }
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) {
        store<f64>(bRows + ((<usize>p * <usize>n + <usize>j) << 3), load<f64>(b + ((<usize>j * <usize>k + <usize>p) << 3)));
      }
    }
  }
  const n2 = n & ~1;
  for (let i = 0; i < m; i++) {
    const ci = c + (<usize>i * <usize>n << 3);
    memory.fill(ci, 0, <usize>n << 3);
    for (let p = 0; p < k; p++) {
      const aip = transA ? load<f64>(a + ((<usize>p * <usize>m + <usize>i) << 3)) : load<f64>(a + ((<usize>i * <usize>k + <usize>p) << 3));
      const av = f64x2.splat(aip);
      const bp = bRows + (<usize>p * <usize>n << 3);
      for (let j = 0; j < n2; j += 2) {
        const o = <usize>j << 3;
        v128.store(ci + o, f64x2.add(v128.load(ci + o), f64x2.mul(av, v128.load(bp + o))));
      }
      if (n2 < n) {
        const o = <usize>n2 << 3;
        store<f64>(ci + o, load<f64>(ci + o) + aip * load<f64>(bp + o));
      }
    }
  }
  release(saved);
  return 0;
}

/** Arena bytes gemmF64() allocates (a row-major copy of a transposed B). */
export function gemmF64ScratchBytes(k: i32, n: i32, transB: bool): f64 {
  return transB ? paddedBytes(<f64>k * <f64>n * 8) : 0;
}
