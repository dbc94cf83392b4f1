// The magnitude factors of a BitStack block: which rank to keep, and how A
// (m×k) and B (k×n) are stored.
//
// Rank: with S = sign(R), ‖R − S⊙M‖_F = ‖|R| − M‖_F, so a rank-r truncated SVD of
// |R| removes Σ_{c<r} σ_c² from ‖R‖². Among the candidate ranks (a bit mask,
// bit r−1 for rank r) the block keeps the one that removes most per stored byte.
//
// Storage: FACTORS_F16 keeps each value as IEEE half (the reference's layout);
// FACTORS_I8 stores symmetric int8 with one f16 scale per column of A and per
// row of B (q = round(v/s), |q| ≤ 127, s = max|v|/127 rounded to f16). Either
// way the decoded f32 values (what products use) are written beside them.

import { toHalf, fromHalf } from './f16';

export const FACTORS_F16: i32 = 0;
export const FACTORS_I8: i32 = 1;

/** Stored bytes of one block of rank k: packed signs, the factors, and the int8 scales. */
export function blockBytes(m: i32, n: i32, k: i32, factors: i32): f64 {
  const signs = Math.ceil(<f64>m * <f64>n / 8);
  const perValue: f64 = factors == FACTORS_I8 ? 1 : 2;
  return signs + <f64>k * <f64>(m + n) * perValue + (factors == FACTORS_I8 ? 4 * <f64>k : 0);
}

/**
 * The candidate rank (bit r−1 of `mask` set, r ≤ kmax) whose Σ_{c<r} σ_c² per stored
 * byte is largest; ties go to the smaller rank. s: kmax singular values (f32). 0 when
 * no candidate is ≤ kmax.
 */
export function chooseRank(s: usize, kmax: i32, mask: u32, m: i32, n: i32, factors: i32): i32 {
  let best = 0;
  let bestGain: f64 = -1;
  let removed: f64 = 0;
  for (let r = 1; r <= kmax && r <= 32; r++) {
    const sigma = <f64>load<f32>(s + (<usize>(r - 1) << 2));
    removed += sigma * sigma;
    if (((mask >> (r - 1)) & 1) == 0) continue;
    const gain = removed / blockBytes(m, n, r, factors);
    if (gain > bestGain) { bestGain = gain; best = r; }
  }
  return best;
}

/**
 * Stores v (count values, `stride` bytes apart as f32 at src) with one shared int8 scale:
 * q → dst (`qStride` bytes apart); unless `keepExact`, src is replaced by the decoded q·s.
 * Returns the f16 bits of s, or −1 when a nonzero vector's scale does not fit f16 (overflows,
 * or rounds to 0): the values are then stored as zeros, and the caller reports it.
 */
@inline function quantizeVector(src: usize, stride: usize, count: i32, dst: usize, qStride: usize, keepExact: bool): i32 {
  let amax: f32 = 0;
  for (let i = 0; i < count; i++) amax = max(amax, abs(load<f32>(src + <usize>i * stride)));
  const h = toHalf(amax / 127);
  const scale = fromHalf(h);
  const ok = scale > 0 && scale < Infinity;
  for (let i = 0; i < count; i++) {
    let q: f32 = ok ? nearest(load<f32>(src + <usize>i * stride) / scale) : 0;
    q = min(max(q, -127), 127);
    store<i8>(dst + <usize>i * qStride, <i8>q);
    if (!keepExact) store<f32>(src + <usize>i * stride, q * scale);
  }
  return ok ? <i32>h : amax > 0 ? -1 : 0;
}

/**
 * Writes A = U_k·√Σ_k (m×k, U with row stride ldu) and B = √Σ_k·Vt_k (k×n) in the storage
 * type: f16 bits (2 bytes each) or int8 plus f16 scales (aScale: k, one per column of A;
 * bScale: k, one per row of B). a32/b32 get the decoded values, or with `keepExact` the
 * unrounded f32 ones (the reference subtracts those).
 */
export function storeFactors(
  s: usize, u: usize, ldu: i32, vt: usize, m: i32, n: i32, k: i32, factors: i32, keepExact: bool,
  aOut: usize, bOut: usize, aScale: usize, bScale: usize, a32: usize, b32: usize,
): bool {
  // Exact products first (into a32, b32); then stored and decoded in place.
  for (let c = 0; c < k; c++) {
    const root = Math.sqrt(<f64>load<f32>(s + (<usize>c << 2)));
    for (let i = 0; i < m; i++) {
      store<f32>(a32 + ((<usize>i * <usize>k + <usize>c) << 2), <f32>(<f64>load<f32>(u + ((<usize>i * <usize>ldu + <usize>c) << 2)) * root));
    }
    for (let j = 0; j < n; j++) {
      store<f32>(b32 + ((<usize>c * <usize>n + <usize>j) << 2), <f32>(<f64>load<f32>(vt + ((<usize>c * <usize>n + <usize>j) << 2)) * root));
    }
  }
  let ok = true;
  if (factors == FACTORS_I8) {
    for (let c = 0; c < k; c++) {
      const ha = quantizeVector(a32 + (<usize>c << 2), <usize>k << 2, m, aOut + <usize>c, <usize>k, keepExact);
      store<u16>(aScale + (<usize>c << 1), <u16>max(ha, 0));
      const hb = quantizeVector(b32 + (<usize>c * <usize>n << 2), 4, n, bOut + <usize>c * <usize>n, 1, keepExact);
      store<u16>(bScale + (<usize>c << 1), <u16>max(hb, 0));
      if (ha < 0 || hb < 0) ok = false;
    }
  } else {
    // (the f32 values are checked before halve may round them in place)
    for (let c = 0; c < k; c++) {
      if (vanishes(a32 + (<usize>c << 2), <usize>k << 2, m) || vanishes(b32 + (<usize>c * <usize>n << 2), 4, n)) ok = false;
    }
    ok = halve(a32, m * k, aOut, keepExact) && halve(b32, k * n, bOut, keepExact) && ok;
  }
  return ok;
}

/** True when a vector has a nonzero value but every value rounds to ±0 in f16 (the factor would vanish). */
function vanishes(src: usize, stride: usize, count: i32): bool {
  let nonzero = false;
  for (let i = 0; i < count; i++) {
    const v = load<f32>(src + <usize>i * stride);
    if (v != 0) nonzero = true;
    if ((toHalf(v) & 0x7fff) != 0) return false;
  }
  return nonzero;
}

/** f32 → f16 bits into dst; unless `keepExact`, src is replaced by the rounded values. False when a value overflows f16. */
function halve(src: usize, count: i32, dst: usize, keepExact: bool): bool {
  let ok = true;
  for (let i = 0; i < count; i++) {
    const h = toHalf(load<f32>(src + (<usize>i << 2)));
    if ((h & 0x7c00) == 0x7c00) ok = false;
    store<u16>(dst + (<usize>i << 1), h);
    if (!keepExact) store<f32>(src + (<usize>i << 2), fromHalf(h));
  }
  return ok;
}

/**
 * Decodes int8 factors: A (m×k, one scale per column) into a32 and B (k×n, one scale per
 * row) into b32, as storeFactors does.
 */
export function decodeInt8(aq: usize, aScale: usize, bq: usize, bScale: usize, m: i32, n: i32, k: i32, a32: usize, b32: usize): void {
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      const o = <usize>i * <usize>k + <usize>c;
      store<f32>(a32 + (o << 2), <f32>load<i8>(aq + o) * fromHalf(load<u16>(aScale + (<usize>c << 1))));
    }
  }
  for (let c = 0; c < k; c++) {
    const sc = fromHalf(load<u16>(bScale + (<usize>c << 1)));
    for (let j = 0; j < n; j++) {
      const o = <usize>c * <usize>n + <usize>j;
      store<f32>(b32 + (o << 2), <f32>load<i8>(bq + o) * sc);
    }
  }
}
