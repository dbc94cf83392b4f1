// The exported ABI of the kernels module: numbers in, numbers out.
// Pointers are byte offsets into the exported memory; lengths are element counts.
// Every export has exactly one caller in src/ops/.

export { alloc, mark, release, reset, heap_base, set_floor } from './arena';
import { gemm } from './gemm/driver';

/** 1 when this module was built with relaxed SIMD (results may differ by engine), else 0. */
export function build_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** f32 GEMM, see gemm/driver.ts. Returns 0, or 1 when scratch memory could not be allocated. */
export function gemm_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32): i32 {
  return gemm(a, b, c, m, k, n, transA != 0, transB != 0);
}
