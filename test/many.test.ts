// decomposeMany in Node (worker_threads): the same bytes for any number of workers, errors from a
// worker typed and named, abort, and the work really spread (every worker made blocks).
import { describe, it, expect, beforeAll } from 'vitest';
import { init, type Bitstack } from 'bitstack-wasm';

let bw: Bitstack;
const matrices: Record<string, [Float32Array, number, number]> = Object.create(null);

beforeAll(async () => {
  bw = await init();
  let seed = 3;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed >>> 8) / 2 ** 24 - 0.5; };
  for (const [name, m, n] of [['a', 384, 256], ['b', 256, 384], ['c', 320, 320], ['d', 32, 48], ['__proto__', 256, 256]] as const) {
    matrices[name] = [Float32Array.from({ length: m * n }, rnd), m, n];
  }
});

describe('decomposeMany (Node worker_threads)', () => {
  it('the same blocks for 1, 2 and 3 workers, every worker used', async () => {
    const runs = [];
    for (const jobs of [1, 2, 3]) {
      const workers = new Set<number | null>();
      const got = await bw.decomposeMany(matrices, { jobs, blocks: 3, onProgress: (p) => workers.add(p.worker) });
      if (jobs === 1) expect([...workers]).toEqual([null]);
      else expect(workers.size).toBeGreaterThanOrEqual(2); // (a worker that starts last may find the queue empty)
      runs.push(Object.fromEntries(Object.entries(got).map(([n, sm]) => { const r = Buffer.from(sm.reconstruct().buffer); sm.free(); return [n, r]; })));
    }
    expect(Object.keys(runs[0]).sort()).toEqual(['__proto__', 'a', 'b', 'c', 'd']);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('a matrix\'s own options (a 4th element) win over the common ones', async () => {
    const [w, m, n] = matrices.a;
    const got = await bw.decomposeMany({ a: [w, m, n, { rank: 4, factors: 'f16' }], c: matrices.c }, { jobs: 2, blocks: 2, rank: 8 });
    const a = bw.decompose(w, m, n, { rank: 4, factors: 'f16', blocks: 2 }), c = bw.decompose(...matrices.c, { rank: 8, blocks: 2 });
    expect(got.a.ranks).toEqual([4, 4]);
    expect(got.a.factors).toBe('f16');
    expect(Buffer.from(got.a.reconstruct().buffer)).toEqual(Buffer.from(a.reconstruct().buffer));
    expect(Buffer.from(got.c.reconstruct().buffer)).toEqual(Buffer.from(c.reconstruct().buffer));
    for (const sm of [got.a, got.c, a, c]) sm.free();
  });

  it('an error in a worker is the decompose error, named; abort ends the pool with ABORTED', async () => {
    await expect(bw.decomposeMany(matrices, { jobs: 2, rank: 64 })).rejects.toMatchObject({ code: 'ARG' });
    const resident = bw.residentBytes;
    const controller = new AbortController();
    const pending = bw.decomposeMany(matrices, { jobs: 2, blocks: 16, signal: controller.signal, onProgress: () => controller.abort('stop') });
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', cause: 'stop' });
    expect(bw.residentBytes).toBe(resident);
  });
});

describe('decomposeMany when workers cannot start', () => {
  it('a worker that fails before it is ready leaves its share to the others; none: the calling thread', async () => {
    const { readFile } = await import('node:fs/promises');
    // @ts-expect-error internal modules of the build
    const { decomposeMany } = await import('../build/ops/many.js');
    // @ts-expect-error internal modules of the build
    const { Runtime } = await import('../build/runtime.js');
    const module = await WebAssembly.compile(await readFile(new URL('../build/kernels.simd.wasm', import.meta.url)));
    const rt = new Runtime(await WebAssembly.instantiate(module, {}));
    const broken = () => ({
      post() {},
      listen(_: unknown, onError: (e: unknown) => void) { setTimeout(() => onError(new Error('no worker file')), 5); },
      terminate() {},
    });
    const small = { a: matrices.d, b: [matrices.a[0].subarray(0, 64 * 48), 64, 48] as [Float32Array, number, number] };
    const want = Object.fromEntries(Object.entries(small).map(([n, [w, m, k]]) => { const sm = bw.decompose(w, m, k, { blocks: 2 }); const r = Buffer.from(sm.reconstruct().buffer); sm.free(); return [n, r]; }));
    const workers = new Set<number | null>();
    for (const spawn of [broken, () => { throw new Error('CSP'); }]) {
      const got = await decomposeMany(rt, module, small, { jobs: 2, blocks: 2, onProgress: (p: { worker: number | null }) => workers.add(p.worker) }, spawn);
      for (const [n, sm] of Object.entries(got) as Array<[string, { reconstruct(): Float32Array; free(): void }]>) {
        expect(Buffer.from(sm.reconstruct().buffer)).toEqual(want[n]);
        sm.free();
      }
    }
    expect([...workers]).toEqual([null]);
  });
});
