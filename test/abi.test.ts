// The kernels module through its raw ABI (docs/ABI.md), as any host sees it: constants,
// statuses, out slots, and the scratch-size queries checked against what each kernel
// really takes from the arena (arena_peak), on shapes that reach every branch.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import binaryen from 'binaryen';
import { init, BitstackError } from 'bitstack-wasm';

type Ex = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory } & Record<string, WebAssembly.Global>;

let ex: Ex;
const u = (x: number) => x >>> 0;

/** A seeded LCG in [−0.5, 0.5): the same inputs every run. */
function fill(ptr: number, count: number, seed: number, f64 = false) {
  const a = f64 ? new Float64Array(ex.memory.buffer, ptr, count) : new Float32Array(ex.memory.buffer, ptr, count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 32 - 0.5; }
}

/** Allocates in the arena (fails the test on 0). */
function alloc(bytes: number): number {
  const p = u(ex.alloc(bytes));
  expect(p).not.toBe(0);
  return p;
}

/** Runs a kernel call and returns its status and the arena bytes it took beyond the current top. */
function measure(call: () => number): { status: number; used: number } {
  const top = u(ex.mark());
  ex.arena_peak_reset();
  const status = call();
  const used = u(ex.arena_peak()) - top;
  expect(u(ex.mark())).toBe(top); // the kernel freed its scratch
  return { status, used };
}

/**
 * The query is an upper bound of what the kernel took, and not a loose one: within 1.5× + 8 KB
 * (queries take the largest of what the kernel decides while running — a block's rank up to 32,
 * the Krylov basis at its full width; on fixed shapes they are exact).
 */
function checkQuery(label: string, query: number, used: number) {
  expect(used, `${label}: used ${used} > query ${query}`).toBeLessThanOrEqual(query);
  expect(query, `${label}: query ${query} far above used ${used}`).toBeLessThanOrEqual(used * 1.5 + 8192);
}

describe('the raw ABI', () => {
  beforeAll(async () => {
    const { instance } = await WebAssembly.instantiate(await readFile(new URL('../build/kernels.simd.wasm', import.meta.url)), {});
    ex = instance.exports as unknown as Ex;
  });

  it('version, status codes and option values are exported globals', () => {
    expect(ex.ABI_VERSION.value).toBe(2);
    expect([ex.STATUS_OK.value, ex.STATUS_OUT_OF_MEMORY.value, ex.STATUS_BAD_ARGUMENT.value, ex.STATUS_NOT_REPRESENTABLE.value]).toEqual([0, 1, 2, 3]);
    expect([ex.BITSTACK_METHOD_SUBSPACE.value, ex.BITSTACK_METHOD_EXACT.value, ex.BITSTACK_METHOD_KRYLOV.value]).toEqual([0, 1, 2]);
    expect([ex.BITSTACK_FACTORS_F16.value, ex.BITSTACK_FACTORS_I8.value]).toEqual([0, 1]);
    expect(ex.build_relaxed()).toBe(0);
    expect(() => { (ex.STATUS_OK as WebAssembly.Global).value = 5; }).toThrow(); // immutable
  });

  it('gemm_f32: the scratch query bounds the packing buffers on every path', () => {
    for (const [m, k, n, transA, transB] of [[64, 64, 64, 0, 0], [100, 700, 300, 1, 0], [37, 53, 29, 0, 1], [1, 50, 50, 0, 0], [50, 50, 1, 1, 0], [300, 1500, 70, 0, 0], [8, 20, 9, 1, 1]]) {
      const top = u(ex.mark());
      const a = alloc(4 * m * k), b = alloc(4 * k * n), c = alloc(4 * m * n);
      fill(a, m * k, 1); fill(b, k * n, 2);
      const { status, used } = measure(() => ex.gemm_f32(a, b, c, m, k, n, transA, transB, 0));
      expect(status).toBe(ex.STATUS_OK.value);
      checkQuery(`gemm ${m}×${k}×${n} transA=${transA}`, ex.gemm_scratch_bytes(m, k, n, transA, 0), used);
      ex.release(top);
    }
    // With B packed beforehand (a resident weight), x·B (m = 1) included.
    for (const [m, k, n, transA, transB] of [[1, 700, 4133, 0, 0], [64, 64, 64, 0, 0], [1, 37, 9, 0, 0], [5, 600, 40, 1, 1]]) {
      const top = u(ex.mark());
      const a = alloc(4 * m * k), b = alloc(4 * k * n), c = alloc(4 * m * n), packed = alloc(u(ex.gemm_packed_b_bytes(k, n)));
      fill(a, m * k, 1); fill(b, k * n, 2);
      ex.gemm_pack_b(b, k, n, transB, packed);
      const { status, used } = measure(() => ex.gemm_f32(a, b, c, m, k, n, transA, transB, packed));
      expect(status).toBe(ex.STATUS_OK.value);
      checkQuery(`gemm ${m}×${k}×${n} packed B`, ex.gemm_scratch_bytes(m, k, n, transA, 1), used);
      ex.release(top);
    }
  });

  it('svd_full and svd_rank: status, sweeps and convergence in the out slot; scratch queries bound them', () => {
    for (const f64 of [0, 1]) {
      const sz = f64 ? 8 : 4;
      for (const [m, n, wantUV] of [[30, 20, 1], [20, 30, 1], [25, 25, 0]]) {
        const top = u(ex.mark());
        const p = Math.min(m, n);
        const a = alloc(sz * m * n), s = alloc(sz * p), uu = alloc(sz * m * p), vt = alloc(sz * p * n), out = alloc(8);
        fill(a, m * n, 3, !!f64);
        const { status, used } = measure(() => ex.svd_full(f64, a, m, n, wantUV, s, uu, vt, 30, out));
        expect(status).toBe(ex.STATUS_OK.value);
        const [sweeps, converged] = new Int32Array(ex.memory.buffer, out, 2);
        expect(sweeps).toBeGreaterThan(0);
        expect(converged).toBe(1);
        checkQuery(`svd_full f64=${f64} ${m}×${n}`, ex.svd_full_scratch_bytes(f64, m, n, wantUV), used);
        // A one-sweep cap: not converged, reported in the slot, still STATUS_OK.
        expect(ex.svd_full(f64, a, m, n, wantUV, s, uu, vt, 1, out)).toBe(ex.STATUS_OK.value);
        expect(Array.from(new Int32Array(ex.memory.buffer, out, 2))).toEqual([1, 0]);
        ex.release(top);
      }
      for (const [m, n, k, over, iters, krylov, wantUV] of [[200, 150, 8, 10, 2, 0, 1], [150, 200, 8, 4, 3, 1, 1], [300, 90, 16, 4, 4, 1, 0], [64, 64, 40, 10, 1, 0, 1]]) {
        const top = u(ex.mark());
        const a = alloc(sz * m * n), s = alloc(sz * k), uu = alloc(sz * m * k), vt = alloc(sz * k * n), out = alloc(8);
        fill(a, m * n, 4, !!f64);
        const { status, used } = measure(() => ex.svd_rank(f64, a, m, n, k, over, iters, 7, wantUV, s, uu, vt, 30, krylov, out));
        expect(status).toBe(ex.STATUS_OK.value);
        checkQuery(`svd_rank f64=${f64} ${m}×${n} k=${k} krylov=${krylov}`, ex.svd_rank_scratch_bytes(f64, m, n, k, over, iters, wantUV, krylov), used);
        ex.release(top);
      }
    }
  });

  it('dct_select: both sides, both paths (power-of-two and Bluestein lengths)', () => {
    for (const [m, n, left, fft] of [[64, 48, 0, 0], [64, 48, 1, 0], [64, 48, 0, 1], [64, 48, 1, 1], [30, 37, 0, 1], [37, 30, 1, 1]]) {
      const top = u(ex.mark());
      const len = left ? m : n, r = 5;
      const g = alloc(4 * m * n), basis = alloc(4 * len * len), idx = alloc(4 * r), scores = alloc(8 * len), proj = alloc(4 * r * Math.max(m, n));
      fill(g, m * n, 5);
      ex.dct_basis(len, 0, len, basis);
      const { status, used } = measure(() => ex.dct_select(g, m, n, r, left, 0, fft, basis, idx, scores, proj));
      expect(status).toBe(ex.STATUS_OK.value);
      checkQuery(`dct_select ${m}×${n} left=${left} fft=${fft}`, ex.dct_select_scratch_bytes(m, n, left, fft), used);
      ex.release(top);
    }
  });

  it('bitstack_block, reconstruct and matmul: statuses, the chosen rank in the out slot, scratch queries', () => {
    const m = 70, n = 45;
    for (const [method, kmax, mask, factors, iters, over] of [
      [ex.BITSTACK_METHOD_KRYLOV.value, 32, 0x8000808b, ex.BITSTACK_FACTORS_I8.value, 3, 4],
      [ex.BITSTACK_METHOD_SUBSPACE.value, 16, 1 << 15, ex.BITSTACK_FACTORS_F16.value, 2, 10],
      [ex.BITSTACK_METHOD_EXACT.value, 8, 1 << 7, ex.BITSTACK_FACTORS_I8.value, 0, 0],
    ]) {
      const top = u(ex.mark());
      const r = alloc(4 * m * n), signs = alloc(Math.ceil(m * n / 8) + 1), aq = alloc(2 * m * kmax), bq = alloc(2 * kmax * n);
      const scales = alloc(4 * kmax), a32 = alloc(4 * m * kmax), b32 = alloc(4 * kmax * n), out = alloc(24);
      fill(r, m * n, 6);
      const { status, used } = measure(() => ex.bitstack_block(r, m, n, kmax, mask, factors, method, iters, over, 0, 1, signs, aq, bq, scales, scales + 2 * kmax, a32, b32, out));
      expect(status).toBe(ex.STATUS_OK.value);
      const k = new Int32Array(ex.memory.buffer, out + 16, 1)[0];
      expect(k >= 1 && k <= kmax && ((mask >>> (k - 1)) & 1)).toBeTruthy();
      checkQuery(`bitstack_block method=${method} kmax=${kmax}`, ex.bitstack_block_scratch_bytes(m, n, kmax, method, iters, over), used);
      // No candidate rank: STATUS_BAD_ARGUMENT.
      expect(ex.bitstack_block(r, m, n, 4, 1 << 9, factors, method, iters, over, 0, 1, signs, aq, bq, scales, scales + 8, a32, b32, out)).toBe(ex.STATUS_BAD_ARGUMENT.value);
      // The block's f32 factors (a32/b32 hold what the residual subtracted) through the tiles.
      const list = alloc(16), w = alloc(4 * m * n);
      new Uint32Array(ex.memory.buffer, list, 4).set([signs, a32, b32, k]);
      const rec = measure(() => ex.bitstack_reconstruct(list, 1, m, n, w));
      expect(rec.status).toBe(ex.STATUS_OK.value);
      checkQuery('bitstack_reconstruct', ex.bitstack_tiles_scratch_bytes(n, 0), rec.used);
      for (const batch of [9, 40]) {
        const x = alloc(4 * n * batch), y = alloc(4 * m * batch);
        fill(x, n * batch, 8);
        const mm = measure(() => ex.bitstack_matmul(list, 1, m, n, x, batch, y));
        expect(mm.status).toBe(ex.STATUS_OK.value);
        checkQuery(`bitstack_matmul batch ${batch}`, ex.bitstack_tiles_scratch_bytes(n, batch), mm.used);
      }
      ex.release(top);
    }
  });

  it('sizes too large for wasm32 are above 4 GiB, not wrapped', () => {
    expect(ex.svd_full_scratch_bytes(1, 40000, 40000, 1)).toBeGreaterThan(2 ** 32);
    expect(ex.bitstack_block_scratch_bytes(70000, 70000, 32, ex.BITSTACK_METHOD_KRYLOV.value, 3, 4)).toBeGreaterThan(2 ** 32);
  });

  it('the facade refuses a module of another ABI version, and one that is not ours', async () => {
    const make = (version: number | null) => {
      const mod = new binaryen.Module();
      mod.setMemory(1, 1, 'memory');
      if (version !== null) {
        mod.addGlobal('v', binaryen.i32, false, mod.i32.const(version));
        mod.addGlobalExport('v', 'ABI_VERSION');
      }
      const bytes = mod.emitBinary();
      mod.dispose();
      return bytes;
    };
    const err = await init({ wasm: make(1) }).catch((e) => e);
    expect(err).toBeInstanceOf(BitstackError);
    expect(err.code).toBe('WASM');
    expect(err.message).toMatch(/ABI version 1, this facade version 2/);
    const none = await init({ wasm: make(null) }).catch((e) => e);
    expect(none.code).toBe('WASM');
    expect(none.message).toMatch(/exports no ABI_VERSION/);
  });
});
