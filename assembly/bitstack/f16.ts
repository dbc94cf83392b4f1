// IEEE half precision ↔ f32, round to nearest even (the storage type of the
// BitStack factors). Bit manipulation only: exact and engine-independent.

/** f32 → f16 bits, round to nearest even; overflow → ±Inf, NaN kept quiet. */
@inline export function toHalf(x: f32): u16 {
  const b = reinterpret<u32>(x);
  const sign = (b >> 16) & 0x8000;
  const absb = b & 0x7fffffff;
  if (absb >= 0x7f800000) return <u16>(sign | (absb > 0x7f800000 ? 0x7e00 : 0x7c00));
  if (absb >= 0x477ff000) return <u16>(sign | 0x7c00); // ≥ 65520 rounds to Inf
  if (absb < 0x38800000) {
    // Subnormal half (or zero): value = m·2^-24.
    if (absb < 0x33000000) return <u16>sign; // < 2^-25: rounds to ±0
    const e = absb >> 23;
    const mant = (absb & 0x7fffff) | 0x800000;
    const shift = 126 - e; // 14..24: mant·2^(e−150) = q·2^-24
    const q = mant >> shift;
    const rem = mant & ((<u32>1 << shift) - 1), half = <u32>1 << (shift - 1);
    const up = rem > half || (rem == half && (q & 1) != 0) ? 1 : 0;
    return <u16>(sign | (q + up));
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits.
  const base = ((absb - 0x38000000) >> 13);
  const rem = absb & 0x1fff;
  const up = rem > 0x1000 || (rem == 0x1000 && (base & 1) != 0) ? 1 : 0;
  return <u16>(sign | (base + up));
}

/** f16 bits → f32 (exact). */
@inline export function fromHalf(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) {
    const v = <f32>m * <f32>5.9604644775390625e-8; // m·2^-24, exact
    return sign ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

/**
 * Four f32 → f16 bits (in u32 lanes), round to nearest even, as toHalf: normal results by
 * rebiasing and rounding the 13 dropped bits; subnormal ones by the float add 0.5 + |x|, whose
 * rounding to a multiple of 2^-24 is exactly the half's (the bits above 0.5's count the units);
 * overflow → Inf; NaN → quiet NaN.
 */
@inline function floats4(v: v128): v128 {
  const x = v128.and(v, i32x4.splat(0x7fffffff));
  const sign = v128.and(i32x4.shr_u(v, 16), i32x4.splat(0x8000));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(i32x4.sub(x, i32x4.splat(0x38000000)), i32x4.splat(0xfff)),
    v128.and(i32x4.shr_u(x, 13), i32x4.splat(1))), 13);
  const sub = i32x4.sub(f32x4.add(x, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  let h = v128.bitselect(sub, normal, i32x4.lt_u(x, i32x4.splat(0x38800000)));
  h = v128.bitselect(i32x4.splat(0x7c00), h, i32x4.ge_u(x, i32x4.splat(0x477ff000)));
  h = v128.bitselect(i32x4.splat(0x7e00), h, i32x4.gt_u(x, i32x4.splat(0x7f800000)));
  return v128.or(h, sign);
}

/** Converts n f32 values to f16 bits, eight per step. */
export function f32ToF16(src: usize, n: i32, dst: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const lo = floats4(v128.load(src + (<usize>i << 2))), hi = floats4(v128.load(src + (<usize>i << 2), 16));
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(lo, hi));
  }
  for (; i < n; i++) store<u16>(dst + (<usize>i << 1), toHalf(load<f32>(src + (<usize>i << 2))));
}

/**
 * Four halves (zero-extended to u32 lanes) → f32, exactly: shift exponent and mantissa into
 * place and scale by 2^112 (this also turns subnormal halves into the right normal f32);
 * Inf and NaN (exponent 31) get the f32 exponent 255; the sign goes back on last.
 */
@inline function halves4(v: v128): v128 {
  const o = i32x4.shl(v128.and(v, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(o, f32x4.splat(5.192296858534828e+33)); // 2^112
  const special = i32x4.ge_u(o, i32x4.splat(0x0f800000));
  const mag = v128.bitselect(v128.or(o, i32x4.splat(0x7f800000)), scaled, special);
  return v128.or(mag, i32x4.shl(v128.and(v, i32x4.splat(0x8000)), 16));
}

/** Converts n f16 values to f32, eight per step. */
export function f16ToF32(src: usize, n: i32, dst: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), halves4(i32x4.extend_low_i16x8_u(h)));
    v128.store(dst + (<usize>i << 2), halves4(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), fromHalf(<u32>load<u16>(src + (<usize>i << 1))));
}

/** bfloat16 bits → f32 (exact: the high half of the f32), eight values per step. */
export function bf16ToF32(src: usize, n: i32, dst: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
  }
  for (; i < n; i++) store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
}

/** f32 → bfloat16 bits, round to nearest even (NaN stays a quiet NaN), eight values per step. */
export function f32ToBf16(src: usize, n: i32, dst: usize): void {
  let i = 0;
  const lsb = i32x4.splat(1), bias = i32x4.splat(0x7fff), quiet = i32x4.splat(0x00400000);
  for (; i + 8 <= n; i += 8) {
    const a = v128.load(src + (<usize>i << 2)), b = v128.load(src + (<usize>i << 2), 16);
    // bits + 0x7fff + ((bits >> 16) & 1), then the high half; NaN: keep it quiet instead.
    const ra = i32x4.add(i32x4.add(a, bias), v128.and(i32x4.shr_u(a, 16), lsb));
    const rb = i32x4.add(i32x4.add(b, bias), v128.and(i32x4.shr_u(b, 16), lsb));
    const na = f32x4.ne(a, a), nb = f32x4.ne(b, b);
    const ha = i32x4.shr_u(v128.bitselect(v128.or(a, quiet), ra, na), 16);
    const hb = i32x4.shr_u(v128.bitselect(v128.or(b, quiet), rb, nb), 16);
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(ha, hb));
  }
  for (; i < n; i++) {
    const bits = load<u32>(src + (<usize>i << 2));
    const v = reinterpret<f32>(bits);
    const h = v != v ? (bits | 0x00400000) >> 16 : (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
    store<u16>(dst + (<usize>i << 1), <u16>h);
  }
}
