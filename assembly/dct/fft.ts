// Complex FFT, split format (separate re and im f32 arrays), for the DCT.
//
// Radix-2, in place, decimation in time: bit-reversal, then log2(N) stages of
// butterflies; stages with half-size h ≥ 4 run four butterflies per v128 with
// twiddles read from a per-plan table (stage h at offset h−1). Lengths that are
// not powers of two use Bluestein's chirp-z: a length-n DFT as a convolution
// computed with power-of-two FFTs of size M ≥ 2n−1. Twiddles and chirps come
// from AssemblyScript's libm in f64 and are stored as f32: the same bits in
// every runtime.

import { alloc, paddedBytes } from '../arena';

/** A plan for complex DFTs of length n: its own scratch, built once per call. */
@unmanaged export class Plan {
  n: i32;        // transform length
  size: i32;     // radix-2 FFT length (n, or M for Bluestein)
  rev: usize;    // i32[size]: bit-reversal permutation
  twRe: usize;   // f32[size]: stage twiddles (offset h−1 for stage h)
  twIm: usize;
  chRe: usize;   // Bluestein only: f32[n] chirp w[k] = exp(−iπk²/n)
  chIm: usize;
  fRe: usize;    // Bluestein only: f32[M] FFT of the conjugate chirp, pre-scaled by 1/M
  fIm: usize;
  bRe: usize;    // Bluestein only: f32[M] work buffers
  bIm: usize;
}

@inline function isPow2(n: i32): bool {
  return (n & (n - 1)) == 0;
}

/** Makes a plan in the arena; null when memory cannot grow. */
export function makePlan(n: i32): Plan | null {
  let size = n;
  if (!isPow2(n)) {
    size = 1;
    while (size < 2 * n - 1) size <<= 1;
  }
  const p = changetype<Plan>(alloc(offsetof<Plan>()));
  if (changetype<usize>(p) == 0) return null;
  p.n = n;
  p.size = size;
  p.rev = alloc(<usize>size << 2);
  p.twRe = alloc(<usize>size << 2);
  p.twIm = alloc(<usize>size << 2);
  if (p.rev == 0 || p.twRe == 0 || p.twIm == 0) return null;
  let bits = 0;
  while ((1 << bits) < size) bits++;
  for (let i = 0; i < size; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    store<i32>(p.rev + (<usize>i << 2), r);
  }
  for (let h = 1; h < size; h <<= 1) {
    for (let j = 0; j < h; j++) {
      const angle = -Math.PI * <f64>j / <f64>h;
      store<f32>(p.twRe + (<usize>(h - 1 + j) << 2), <f32>Math.cos(angle));
      store<f32>(p.twIm + (<usize>(h - 1 + j) << 2), <f32>Math.sin(angle));
    }
  }
  if (size != n) {
    p.chRe = alloc(<usize>n << 2); p.chIm = alloc(<usize>n << 2);
    p.fRe = alloc(<usize>size << 2); p.fIm = alloc(<usize>size << 2);
    p.bRe = alloc(<usize>size << 2); p.bIm = alloc(<usize>size << 2);
    if (p.chRe == 0 || p.chIm == 0 || p.fRe == 0 || p.fIm == 0 || p.bRe == 0 || p.bIm == 0) return null;
    const twoN = 2 * <i64>n;
    memory.fill(p.fRe, 0, <usize>size << 2);
    memory.fill(p.fIm, 0, <usize>size << 2);
    const scale = 1.0 / <f64>size;
    for (let k = 0; k < n; k++) {
      // k² mod 2n exactly, so the chirp's angle stays small.
      const q = (<i64>k * <i64>k) % twoN;
      const angle = Math.PI * <f64>q / <f64>n;
      const c = Math.cos(angle), s = Math.sin(angle);
      store<f32>(p.chRe + (<usize>k << 2), <f32>c);
      store<f32>(p.chIm + (<usize>k << 2), <f32>-s);
      // Filter: conj(w[k]) at k and at size−k.
      store<f32>(p.fRe + (<usize>k << 2), <f32>(c * scale));
      store<f32>(p.fIm + (<usize>k << 2), <f32>(s * scale));
      if (k > 0) {
        store<f32>(p.fRe + (<usize>(size - k) << 2), <f32>(c * scale));
        store<f32>(p.fIm + (<usize>(size - k) << 2), <f32>(s * scale));
      }
    }
    fftPow2(p, p.fRe, p.fIm);
  }
  return p;
}

/** In-place forward FFT of length p.size (power of two) on (re, im). */
export function fftPow2(p: Plan, re: usize, im: usize): void {
  const size = p.size;
  for (let i = 0; i < size; i++) {
    const r = load<i32>(p.rev + (<usize>i << 2));
    if (r > i) {
      const a = re + (<usize>i << 2), b = re + (<usize>r << 2);
      const t = load<f32>(a); store<f32>(a, load<f32>(b)); store<f32>(b, t);
      const c = im + (<usize>i << 2), d = im + (<usize>r << 2);
      const u = load<f32>(c); store<f32>(c, load<f32>(d)); store<f32>(d, u);
    }
  }
  // h = 1 and h = 2: scalar butterflies (twiddles 1, and 1, −i).
  if (size >= 2) {
    for (let s = 0; s < size; s += 2) {
      const a = <usize>s << 2, b = a + 4;
      const ur = load<f32>(re + a), ui = load<f32>(im + a), vr = load<f32>(re + b), vi = load<f32>(im + b);
      store<f32>(re + a, ur + vr); store<f32>(im + a, ui + vi);
      store<f32>(re + b, ur - vr); store<f32>(im + b, ui - vi);
    }
  }
  if (size >= 4) {
    for (let s = 0; s < size; s += 4) {
      const a0 = <usize>s << 2, a1 = a0 + 4, b0 = a0 + 8, b1 = a0 + 12;
      // j = 0: w = 1.
      let ur = load<f32>(re + a0), ui = load<f32>(im + a0), vr = load<f32>(re + b0), vi = load<f32>(im + b0);
      store<f32>(re + a0, ur + vr); store<f32>(im + a0, ui + vi);
      store<f32>(re + b0, ur - vr); store<f32>(im + b0, ui - vi);
      // j = 1: w = −i, so w·v = (vi, −vr).
      ur = load<f32>(re + a1); ui = load<f32>(im + a1); vr = load<f32>(re + b1); vi = load<f32>(im + b1);
      store<f32>(re + a1, ur + vi); store<f32>(im + a1, ui - vr);
      store<f32>(re + b1, ur - vi); store<f32>(im + b1, ui + vr);
    }
  }
  for (let h = 4; h < size; h <<= 1) {
    const twr = p.twRe + (<usize>(h - 1) << 2), twi = p.twIm + (<usize>(h - 1) << 2);
    for (let s = 0; s < size; s += 2 * h) {
      const ra = re + (<usize>s << 2), ia = im + (<usize>s << 2);
      const rb = ra + (<usize>h << 2), ib = ia + (<usize>h << 2);
      for (let j = 0; j < h; j += 4) {
        const o = <usize>j << 2;
        const wr = v128.load(twr + o), wi = v128.load(twi + o);
        const xr = v128.load(rb + o), xi = v128.load(ib + o);
        const tr = f32x4.sub(f32x4.mul(xr, wr), f32x4.mul(xi, wi));
        const ti = f32x4.add(f32x4.mul(xr, wi), f32x4.mul(xi, wr));
        const ur = v128.load(ra + o), ui = v128.load(ia + o);
        v128.store(ra + o, f32x4.add(ur, tr)); v128.store(ia + o, f32x4.add(ui, ti));
        v128.store(rb + o, f32x4.sub(ur, tr)); v128.store(ib + o, f32x4.sub(ui, ti));
      }
    }
  }
}

/**
 * Forward DFT of length p.n of (re, im) in place: radix-2 directly, or Bluestein
 * (re, im need only hold n values; the plan's buffers hold the padded ones).
 */
export function dft(p: Plan, re: usize, im: usize): void {
  if (p.size == p.n) {
    fftPow2(p, re, im);
    return;
  }
  const n = p.n, size = p.size;
  const bRe = p.bRe, bIm = p.bIm;
  // a[k] = z[k]·w[k], zero padded.
  for (let k = 0; k < n; k++) {
    const o = <usize>k << 2;
    const zr = load<f32>(re + o), zi = load<f32>(im + o);
    const wr = load<f32>(p.chRe + o), wi = load<f32>(p.chIm + o);
    store<f32>(bRe + o, zr * wr - zi * wi);
    store<f32>(bIm + o, zr * wi + zi * wr);
  }
  memory.fill(bRe + (<usize>n << 2), 0, <usize>(size - n) << 2);
  memory.fill(bIm + (<usize>n << 2), 0, <usize>(size - n) << 2);
  fftPow2(p, bRe, bIm);
  // Multiply by the filter's FFT and conjugate (inverse FFT through conj(FFT(conj(·)))).
  for (let k = 0; k < size; k += 4) {
    const o = <usize>k << 2;
    const ar = v128.load(bRe + o), ai = v128.load(bIm + o);
    const fr = v128.load(p.fRe + o), fi = v128.load(p.fIm + o);
    v128.store(bRe + o, f32x4.sub(f32x4.mul(ar, fr), f32x4.mul(ai, fi)));
    v128.store(bIm + o, f32x4.neg(f32x4.add(f32x4.mul(ar, fi), f32x4.mul(ai, fr))));
  }
  fftPow2(p, bRe, bIm);
  // Z[k] = w[k]·conj(result[k]) (the 1/M is in the filter).
  for (let k = 0; k < n; k++) {
    const o = <usize>k << 2;
    const cr = load<f32>(bRe + o), ci = -load<f32>(bIm + o);
    const wr = load<f32>(p.chRe + o), wi = load<f32>(p.chIm + o);
    store<f32>(re + o, cr * wr - ci * wi);
    store<f32>(im + o, cr * wi + ci * wr);
  }
}

/** Arena bytes makePlan() allocates for length n. */
export function planBytes(n: i32): f64 {
  let size = n;
  if (!isPow2(n)) {
    size = 1;
    while (size < 2 * n - 1) size <<= 1;
  }
  const s4 = <f64>size * 4;
  return paddedBytes(<f64>offsetof<Plan>()) + 3 * paddedBytes(s4) + (size != n ? 2 * paddedBytes(<f64>n * 4) + 4 * paddedBytes(s4) : 0);
}
