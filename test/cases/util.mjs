// Helpers shared by the test cases: deterministic data, assertions, references.

/** float32 unit roundoff u = 2^-24. */
export const U32 = 2 ** -24;

/** Deterministic PRNG (mulberry32): the same numbers in every engine. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [-1, 1), stored as float32. */
export function randomF32(n, seed) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * r() - 1;
  return out;
}

/** UTF-8 bytes of a string (TextEncoder where the host has one; ASCII and BMP otherwise, enough for the cases). */
export function utf8(text) {
  if (typeof TextEncoder !== 'undefined') return new TextEncoder().encode(text);
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * A trained-like m×n matrix: rank r from two seeded factors, plus `noise` times seeded uniform noise.
 * seeds: [noise, left factor, right factor].
 */
export function lowRankPlusNoise(bw, m, n, r, noise, [sNoise, sLeft, sRight]) {
  const e = randomF32(m * n, sNoise);
  return bw.matmul(randomF32(m * r, sLeft), randomF32(r * n, sRight), m, r, n).map((v, i) => v + noise * e[i]);
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs fn, which must throw a BitstackError with `code`; returns the error. */
export async function expectError(fn, code) {
  try {
    await fn();
  } catch (e) {
    assert(e && e.name === 'BitstackError', `expected BitstackError(${code}), got ${e && e.name}: ${e && e.message}`);
    assert(e.code === code, `expected code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected BitstackError(${code}), nothing was thrown`);
}

/** Element (i, j) of a row-major rows×cols array, read as its transpose when `trans`. */
function at(x, i, j, rows, cols, trans) {
  return trans ? x[j * rows + i] : x[i * cols + j];
}

/**
 * Reference product in float64 and the componentwise bound of float32 summation:
 * |fl(AB) − AB| ≤ γ_k·(|A||B|), γ_k = k·u/(1 − k·u) (Higham, Accuracy and Stability, §3.5).
 */
export function referenceMatmul(a, b, m, k, n, transA, transB) {
  const c = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  const gamma = (k * U32) / (1 - k * U32);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = at(a, i, p, m, k, transA), y = at(b, p, j, k, n, transB);
        s += x * y;
        t += Math.abs(x * y);
      }
      c[i * n + j] = s;
      bound[i * n + j] = gamma * t;
    }
  }
  return { c, bound };
}

export function checkMatmul(got, a, b, m, k, n, transA, transB, label) {
  const { c, bound } = referenceMatmul(a, b, m, k, n, transA, transB);
  assert(got.length === m * n, `${label}: length ${got.length} != ${m * n}`);
  for (let i = 0; i < m * n; i++) {
    const err = Math.abs(got[i] - c[i]);
    // + the rounding of the float64 reference to float32 itself
    assert(err <= bound[i] + U32 * Math.abs(c[i]), `${label}: C[${i}] = ${got[i]}, reference ${c[i]}, |error| ${err} > bound ${bound[i]}`);
  }
}


/** 2^k exactly, for an integer k (no Math.pow: test inputs must be the same bits in every engine). */
export function pow2(k) {
  let x = 1;
  for (let i = 0; i < Math.abs(k); i++) x = k < 0 ? x / 2 : x * 2;
  return x;
}
