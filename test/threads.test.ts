// The threads build in Node (worker_threads on one shared memory): the same bits as one thread for
// every product it splits (property-based over shapes, transposes, resident and packed operands,
// block counts and ranks), the split really taken, options, fallbacks, dispose and process exit.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { availableParallelism } from 'node:os';
import { init, BitstackError, type Bitstack } from 'bitstack-wasm';
import { createInit } from 'bitstack-wasm/core';

const params = { numRuns: Number(process.env.FUZZ_RUNS ?? 40), seed: Number(process.env.FUZZ_SEED ?? 20261202), endOnFailure: true };
let one: Bitstack, two: Bitstack;
const runs = (bw: Bitstack) => (bw as unknown as { threadRuns: number }).threadRuns;
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Bit equality (Buffer.compare: a deep toEqual over megabytes takes a minute). */
const expectSameBits = (got: Float32Array, expected: Float32Array) => {
  expect(got.length).toBe(expected.length);
  expect(Buffer.compare(bytes(got), bytes(expected))).toBe(0);
};

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s >>> 8) / 2 ** 24 - 0.5; });
}

beforeAll(async () => {
  one = await init();
  two = await init({ threads: 2 });
});
afterAll(() => two.dispose());

describe('threads build (Node)', () => {
  it('runs on 2 threads here; the one-thread default is unchanged', () => {
    expect(two.features).toEqual({ simd: true, relaxed: false, threads: 2 });
    expect(one.features.threads).toBe(1);
  });

  it('matmul: the same bits as one thread, split by columns once the product is large enough', () => {
    // Shapes around the split: fewer tile columns than threads, edge tiles, k across KC (512), n across NC (4096).
    const dim = fc.oneof(fc.constantFrom(2, 7, 8, 9, 16, 17, 63, 64, 65, 513), fc.integer({ min: 2, max: 300 }));
    fc.assert(fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.constantFrom('array', 'resident', 'packed'), fc.integer(), (m, k, n, ta, tb, kind, seed) => {
      const a = random(m * k, seed), b = random(k * n, seed + 1);
      const opts = { transA: ta, transB: tb };
      const expected = one.matmul(a, b, m, k, n, opts);
      const before = runs(two);
      const B = kind === 'array' ? b : two.matrix(b, tb ? n : k, tb ? k : n, { prepack: kind === 'packed' });
      const got = two.matmul(a, B, m, k, n, opts);
      if (B !== b) (B as { free(): void }).free();
      expectSameBits(got, expected);
      // Split exactly when the work passes 2^20 multiply-adds and there are two tile columns (8 wide).
      expect(runs(two) - before).toBe(m * k * n >= 2 ** 20 && n > 8 ? 1 : 0);
    }), params);
  });

  it('matmul: large products across KC and NC blocks, and after memory grew, the same bits', () => {
    for (const [m, k, n] of [[33, 1100, 4200], [300, 600, 700], [1024, 1024, 1024]]) {
      for (const tb of [false, true]) {
        const a = random(m * k, m), b = random(k * n, n);
        const before = runs(two);
        expectSameBits(two.matmul(a, b, m, k, n, { transB: tb }), one.matmul(a, b, m, k, n, { transB: tb }));
        expect(runs(two)).toBe(before + 1);
      }
    }
  });

  it('matrix-vector products (x·W, W·x; in place, transposed, packed): the same bits, split along the output', () => {
    for (const [m, k, n] of [[1, 4096, 1000], [1, 300, 4104], [1000, 4096, 1], [4103, 300, 1], [1, 70, 300]]) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = random(m * k, m + k), b = random(k * n, k + n);
        const opts = { transA: ta, transB: tb };
        const expected = one.matmul(a, b, m, k, n, opts);
        for (const kind of ['array', 'resident', 'packed']) {
          const B = kind === 'array' ? b : two.matrix(b, tb ? n : k, tb ? k : n, { prepack: kind === 'packed' });
          const before = runs(two);
          expectSameBits(two.matmul(a, B, m, k, n, opts), expected);
          if (B !== b) (B as { free(): void }).free();
          expect(runs(two) - before).toBe(m * k * n >= 2 ** 20 ? 1 : 0);
        }
      }
    }
  });

  it('the fused matvec from packed blocks: the same bits, any block count, rank and row count', () => {
    const w = random(700 * 1100, 5);
    for (const [m, n, opts] of [[700, 1100, {}], [700, 1100, { rank: 16, factors: 'f16' as const }], [64, 1100, { rank: 3 }], [700, 1096, { rank: 24 }]] as const) {
      const sm = one.decompose(w.subarray(0, m * n), m, n, { blocks: 4, ...opts });
      const sm2 = two.restore(sm.export());
      const x = random(n, m + n);
      for (const b of [1, 2, 4]) {
        const before = runs(two);
        expectSameBits(sm2.matvec(x, b), sm.matvec(x, b));
        expect(runs(two)).toBe(before + (m * n * b >= 2 ** 20 ? 1 : 0));
      }
      sm.free(); sm2.free();
    }
  });

  it('reconstruct and the batched product from packed blocks: the same bits, split by whole tiles of rows', () => {
    const w = random(1000 * 1100, 11);
    let split = 0;
    for (const [m, n] of [[1000, 1100], [97, 1100], [33, 1096], [300, 40]] as const) {
      const sm = one.decompose(w.subarray(0, m * n), m, n, { blocks: 3, rank: 5 });
      const sm2 = two.restore(sm.export());
      for (const b of [1, 3]) {
        let before = runs(two);
        expectSameBits(sm2.reconstruct(b), sm.reconstruct(b));
        const worth = (count: number) => m * n * count >= 2 ** 20 && m >= 64;
        expect(runs(two) - before).toBe(worth(b) ? 1 : 0);
        split += runs(two) - before;
        const x = random(n * 9, b);
        before = runs(two);
        expectSameBits(sm2.matmul(x, 9, b), sm.matmul(x, 9, b));
        expect(runs(two) - before).toBe(worth(9) ? 1 : 0);
      }
      sm.free(); sm2.free();
    }
    expect(split).toBe(2); // reconstruct of 1000×1100 from 1 and from 3 blocks
  });

  it('decompose, svd and decomposeMany on the threads build give the one-thread bytes', async () => {
    const w = random(96 * 80, 9);
    const a = one.decompose(w, 96, 80, { blocks: 3 }), b = two.decompose(w, 96, 80, { blocks: 3 });
    expectSameBits(b.reconstruct(), a.reconstruct());
    expectSameBits(two.svd(w, 96, 80).S, one.svd(w, 96, 80).S);
    // decomposeMany's workers instantiate the threads module too (each on a shared memory of its own).
    const many = await two.decomposeMany({ w: [w, 96, 80] }, { jobs: 2, blocks: 3 });
    expectSameBits(many.w.reconstruct(), a.reconstruct());
  });

  it('threads option: checked, and relaxed: true cannot have threads', async () => {
    for (const threads of [0, 1.5, 65, -1, '2', null]) {
      await expect(init({ threads: threads as never })).rejects.toMatchObject({ code: 'ARG' });
    }
    await expect(init({ threads: 2, relaxed: true })).rejects.toMatchObject({ code: 'ARG', message: expect.stringMatching(/relaxed/) });
    const auto = await init({ threads: 'auto' });
    expect(auto.features.threads).toBe(Math.min(availableParallelism(), 64));
    auto.dispose();
    const single = await init({ threads: 1 });
    expect(single.features.threads).toBe(1);
  });

  it('falls back to one thread (the single-threaded build) when no thread can start; same bits', async () => {
    const read = (f: string) => readFile(new URL(`../build/${f}`, import.meta.url));
    const started: string[] = [];
    const failing = createInit({
      defaultModule: (build) => { started.push(build); return read(`kernels.${build}.wasm`); },
      load: () => Promise.reject(new Error('no')),
      spawnThread: () => ({
        post() {},
        listen(_onMessage, onError) { setTimeout(() => onError(new Error('blocked by a CSP')), 1); },
        terminate() {},
      }),
    });
    const bw = await failing({ threads: 2 });
    expect(bw.features.threads).toBe(1);
    expect(started).toEqual(['threads', 'simd']);
    const a = random(200 * 300, 1), b = random(300 * 250, 2);
    expectSameBits(bw.matmul(a, b, 200, 300, 250), one.matmul(a, b, 200, 300, 250));
  });

  it('the threads module can be instantiated on its own (init({ wasm })): one thread on a shared memory', async () => {
    const bw = await init({ wasm: new URL('../build/kernels.threads.wasm', import.meta.url) });
    expect(bw.features.threads).toBe(1);
    const a = random(64 * 64, 3);
    expectSameBits(bw.matmul(a, a, 64, 64, 64), one.matmul(a, a, 64, 64, 64));
  });

  it('dispose ends the threads; a later call is an ARG error', async () => {
    const bw = await init({ threads: 2 });
    const m = bw.matrix(random(16, 1), 4, 4);
    bw.dispose();
    expect(() => bw.matmul(random(128 * 128, 1), random(128 * 128, 2), 128, 128, 128)).toThrow(BitstackError);
    expect(() => m.toArray()).toThrow(/disposed/);
  });

  it('threads waiting for work do not keep the process alive', async () => {
    const script = "import { init } from 'bitstack-wasm'; const bw = await init({ threads: 2 }); "
      + 'const a = new Float32Array(256 * 256).fill(1); console.log(bw.features.threads, bw.matmul(a, a, 256, 256, 256)[0]);';
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('2 256');
  });
});
