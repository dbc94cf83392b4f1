// Input checks done where the data already is: x − x is 0 for every finite x
// and NaN for ±Infinity and NaN, four (or two) lanes at a time.

/** Index of the first NaN or ±Infinity among x[0..n) (f32), or −1. */
export function firstNonFiniteF32(x: usize, n: i32): i32 {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const d = f32x4.sub(v, v);
    if (!i32x4.all_true(f32x4.eq(d, d))) break;
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v - v != 0) return i;
  }
  return -1;
}

/** Index of the first NaN or ±Infinity among x[0..n) (f64), or −1. */
export function firstNonFiniteF64(x: usize, n: i32): i32 {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const v = v128.load(x + (<usize>i << 3));
    const d = f64x2.sub(v, v);
    if (!i64x2.all_true(f64x2.eq(d, d))) break;
  }
  for (; i < n; i++) {
    const v = load<f64>(x + (<usize>i << 3));
    if (v - v != 0) return i;
  }
  return -1;
}
