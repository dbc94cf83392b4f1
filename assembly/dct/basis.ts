// The orthonormal DCT-II basis, computed in wasm with AssemblyScript's libm
// (Math.cos here is musl's, compiled into the module, not the host's), so the
// basis is the same bits in every runtime:
//   D[k][j] = c_k·cos(π·(2j+1)·k / (2n)),  c_0 = √(1/n), c_k = √(2/n).

/** Writes rows `rows[0..count)` of the n×n basis (f32) to dst (count×n), or all n rows when rows = 0. */
export function dctRows(n: i32, rows: usize, count: i32, dst: usize): void {
  const c0 = Math.sqrt(1.0 / <f64>n), ck = Math.sqrt(2.0 / <f64>n);
  const twoN = 2 * <i64>n;
  for (let r = 0; r < count; r++) {
    const k = rows ? load<i32>(rows + (<usize>r << 2)) : r;
    const c = k == 0 ? c0 : ck;
    const out = dst + (<usize>r * <usize>n << 2);
    for (let j = 0; j < n; j++) {
      // The angle's numerator (2j+1)·k reduced mod 4n exactly in integers,
      // so large n loses no accuracy to a huge argument.
      const num = ((2 * <i64>j + 1) * <i64>k) % (2 * twoN);
      store<f32>(out + (<usize>j << 2), <f32>(c * Math.cos(Math.PI * <f64>num / <f64>twoN)));
    }
  }
}
