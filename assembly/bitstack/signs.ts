// 1-bit sign matrices, packed as the BitStack reference stores them: row-major
// over the whole m×n matrix, 8 signs a byte, the first element in the most
// significant bit, a set bit meaning +1 (sign(0) := +1). m·n/8 bytes (the last
// byte zero-padded when m·n is not a multiple of 8).

/** Packs the signs of x (f32, count values) into ceil(count/8) bytes. */
export function packSigns(x: usize, count: i32, dst: usize): void {
  const full = count >> 3;
  for (let b = 0; b < full; b++) {
    const p = x + (<usize>b << 5);
    // Sign bits of 8 floats: bit 31 set means negative (−0 counts as +1 below).
    let byte: u32 = 0;
    for (let j = 0; j < 8; j++) {
      const v = load<f32>(p + (<usize>j << 2));
      byte |= (v >= 0 ? 1 : 0) << (7 - j);
    }
    store<u8>(dst + <usize>b, <u8>byte);
  }
  if (count & 7) {
    let byte: u32 = 0;
    for (let j = 0; j < (count & 7); j++) {
      byte |= (load<f32>(x + (<usize>((full << 3) + j) << 2)) >= 0 ? 1 : 0) << (7 - j);
    }
    store<u8>(dst + <usize>full, <u8>byte);
  }
}

/** Sign (+1 or −1) of element `index` of a packed matrix. */
@inline export function signAt(signs: usize, index: i32): f32 {
  return (load<u8>(signs + <usize>(index >> 3)) >> (7 - (index & 7))) & 1 ? <f32>1 : <f32>-1;
}
