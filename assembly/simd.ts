// The one place where the default and the relaxed build differ.
//
// Default build: multiply then add, two IEEE roundings, the same bits in every
// engine. Relaxed build (`--enable relaxed-simd`): f32x4.relaxed_madd, which an
// engine may lower to a fused multiply-add (one rounding) or to mul+add.

/** a·b + c, lane-wise. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}
