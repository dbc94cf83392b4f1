// 1-bit sign matrices, packed as the BitStack reference stores them: row-major
// over the whole m×n matrix, 8 signs a byte, the first element in the most
// significant bit, a set bit meaning +1 (sign(0) := +1). m·n/8 bytes (the last
// byte zero-padded when m·n is not a multiple of 8).

/** Reverses the 8 low bits of b. */
@inline function reverse8(b: u32): u32 {
  b = ((b & 0xf0) >> 4) | ((b & 0x0f) << 4);
  b = ((b & 0xcc) >> 2) | ((b & 0x33) << 2);
  return ((b & 0xaa) >> 1) | ((b & 0x55) << 1);
}

/** Packs the signs of x (f32, count values) into ceil(count/8) bytes. */
export function packSigns(x: usize, count: i32, dst: usize): void {
  packSignsAndAbs(x, count, dst, 0);
}

/**
 * packSigns, and when `abs` is not 0, |x| into it (count f32) in the same pass
 * over x (a BitStack block needs both of the residual).
 */
export function packSignsAndAbs(x: usize, count: i32, dst: usize, abs: usize): void {
  const full = count >> 3;
  const zero = f32x4.splat(0);
  for (let b = 0; b < full; b++) {
    const o = <usize>b << 5;
    const v0 = v128.load(x + o), v1 = v128.load(x + o, 16);
    // x ≥ 0 per lane (so −0 → +1); bitmask puts element j at bit j; the byte wants it at bit 7−j.
    const lo = i32x4.bitmask(f32x4.ge(v0, zero));
    const hi = i32x4.bitmask(f32x4.ge(v1, zero));
    store<u8>(dst + <usize>b, <u8>reverse8(lo | (hi << 4)));
    if (abs) {
      v128.store(abs + o, f32x4.abs(v0));
      v128.store(abs + o, f32x4.abs(v1), 16);
    }
  }
  if (count & 7) {
    let byte: u32 = 0;
    for (let j = 0; j < (count & 7); j++) {
      const o = <usize>((full << 3) + j) << 2;
      const v = load<f32>(x + o);
      byte |= (v >= 0 ? 1 : 0) << (7 - j);
      if (abs) store<f32>(abs + o, Mathf.abs(v));
    }
    store<u8>(dst + <usize>full, <u8>byte);
  }
}

/** Sign (+1 or −1) of element `index` of a packed matrix. */
@inline export function signAt(signs: usize, index: i32): f32 {
  return (load<u8>(signs + <usize>(index >> 3)) >> (7 - (index & 7))) & 1 ? <f32>1 : <f32>-1;
}
