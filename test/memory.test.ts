// Memory past 2 GiB and out of memory, in Node (these machines have 24 GiB): addresses are
// unsigned across the ABI, running out of memory is a typed OUT_OF_MEMORY, and the instance
// stays usable and exact afterwards.
import { describe, it, expect } from 'vitest';
import { init, BitstackError } from 'bitstack-wasm';

/** Deterministic f32 data. */
const data = (n: number, seed: number) => {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s >>> 8) / 2 ** 24 - 0.5; }
  return out;
};

/** The small operations whose results must not depend on where in memory they run. */
async function smallWork(bw: Awaited<ReturnType<typeof init>>) {
  const a = data(37 * 53, 1), b = data(53 * 29, 2), w = data(48 * 40, 3);
  const c = bw.matmul(a, b, 37, 53, 29);
  const { S } = bw.svd(w, 48, 40);
  const sm = bw.decompose(w, 48, 40, { blocks: 3 });
  const y = sm.matvec(data(40, 4));
  const r = sm.reconstruct();
  sm.free();
  return [c, S, y, r].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64'));
}

describe('memory past 2 GiB', () => {
  it('matmul(a, b, 1, 2^28 + 64, 1) on a fresh instance: inputs end past 2 GiB', async () => {
    const bw = await init();
    const k = 2 ** 28 + 64;
    const a = new Float32Array(k), b = new Float32Array(k);
    // Exact products: a·b = Σ over 64 nonzero pairs, at both ends of the 1 GiB vectors.
    for (let i = 0; i < 32; i++) { a[i] = i; b[i] = 2; a[k - 1 - i] = 1; b[k - 1 - i] = -i; }
    const c = bw.matmul(a, b, 1, k, 1) as Float32Array;
    expect(c[0]).toBe(2 * (31 * 32 / 2) - 31 * 32 / 2);
    expect(bw.memoryBytes).toBeGreaterThan(2 ** 31);
  }, 120_000);

  it('resident matrices past 2 GiB: matmul, svd and decompose give the same bytes there; then OUT_OF_MEMORY is typed and the instance stays usable', async () => {
    const reference = await smallWork(await init());
    const bw = await init();
    const big = bw.matrix(new Float32Array(2 ** 29 + 2 ** 20), 2 ** 19 + 2 ** 10, 1024); // 2 GiB + 4 MiB, resident
    expect(bw.residentBytes).toBeGreaterThan(2 ** 31);
    expect(await smallWork(bw)).toEqual(reference); // every buffer of these calls lies above 2 GiB
    // A product with the resident matrix itself (its data starts below 2 GiB and ends above).
    const x = new Float32Array(1024).fill(1);
    const y = bw.matmul(big, x, 2 ** 19 + 2 ** 10, 1024, 1) as Float32Array;
    expect(y.every((v) => v === 0)).toBe(true);
    // Another 2 GiB cannot fit beside it: a typed error, nothing else.
    let err: unknown;
    try { bw.matrix(new Float32Array(2 ** 29), 2 ** 19, 1024); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BitstackError);
    expect((err as BitstackError).code).toBe('OUT_OF_MEMORY');
    // A call whose scratch cannot grow: typed too.
    const n = 2 ** 28 + 2 ** 20; // 1 GiB + 4 MiB for each of a and b: within the ceiling alone, not beside 2 GiB resident
    err = undefined;
    try { bw.matmul(new Float32Array(n), new Float32Array(n), 1, n, 1); } catch (e) { err = e; }
    expect((err as BitstackError)?.code).toBe('OUT_OF_MEMORY');
    // The instance still works, exactly.
    expect(await smallWork(bw)).toEqual(reference);
    big.free();
    expect(bw.residentBytes).toBe(0);
    expect(await smallWork(bw)).toEqual(reference);
  }, 300_000);
});
