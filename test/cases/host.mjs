// Cases a host without JavaScript reproduces through the raw ABI (examples/python/host.py):
// inputs from a 32-bit LCG whose values are exact in f32, and outputs hashed as stored. The
// facade makes exactly these kernel calls, so every host must produce the same golden hashes.
import { assert } from './util.mjs';

/** n values (s >>> 8)/2^24 − 0.5 of the LCG s ← 1664525·s + 1013904223 (mod 2^32): exact in f32. */
export function lcgF32(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) / 2 ** 24 - 0.5;
  }
  return out;
}

export const cases = [];

cases.push({
  name: 'host ABI: matmul 37×53·53×29 (gemm_f32)',
  run({ bw }) {
    const c = bw.matmul(lcgF32(37 * 53, 1), lcgF32(53 * 29, 2), 37, 53, 29);
    assert(c.length === 37 * 29 && c.every(Number.isFinite), 'product');
    return [c];
  },
});

cases.push({
  name: 'host ABI: svd of 24×16 (svd_full, f32): U, S, Vt',
  run({ bw }) {
    const { U, S, Vt, converged } = bw.svd(lcgF32(24 * 16, 3), 24, 16);
    assert(converged && S[0] > S[15], 'converged, descending');
    return [U, S, Vt];
  },
});

cases.push({
  name: 'host ABI: one BitStack block (bitstack_block, rank 4, f16) and its LUT matvec (bitstack_lut_gemv)',
  run({ bw }) {
    const m = 40, n = 56;
    const sm = bw.decompose(lcgF32(m * n, 4), m, n, { rank: 4, factors: 'f16', blocks: 1 });
    const y = sm.matvec(lcgF32(n, 5));
    const d = sm.blockData(0);
    sm.free();
    return [d.signs, d.a, d.b, y];
  },
});
