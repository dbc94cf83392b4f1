// matmul benchmark: GFLOP/s medians, single thread, all peers in this process.
//   npm run bench:matmul                 full table (several minutes)
//   node bench/matmul.mjs --quick        a few shapes (the README's demo for now)
//   --only 1024,gemv   --runs 7   --wasm-opt (adds our module after `wasm-opt -O3`)
//   --json FILE       write the measurements
// Peers are timed in interleaved rounds (each round times every peer once), medians reported.
// Ours runs on resident operands (bw.matrix), as tfjs tensors and ORT initializers are;
// the "ours+copy" column passes Float32Arrays, so it includes copying them into wasm memory.

import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { arg, median, interleavedMedians, randomF32, table, fmt } from './lib.mjs';
import { loadOurs, relaxedAvailable } from './peers/ours.mjs';
import { loadTfjsWasm } from './peers/tfjs-wasm.mjs';
import { loadOrtWeb } from './peers/onnxruntime-web.mjs';
import { plainJs, mlMatrix } from './peers/plain.mjs';

const SHAPES = [
  ['64', 64, 64, 64], ['128', 128, 128, 128], ['256', 256, 256, 256], ['512', 512, 512, 512],
  ['1024', 1024, 1024, 1024], ['2048', 2048, 2048, 2048],
  ['4096x4096·4096x32', 4096, 4096, 32], ['32x4096·4096x4096', 32, 4096, 4096],
  ['4096x16·16x4096', 4096, 16, 4096],
  ['gemv 1x4096·4096x4096', 1, 4096, 4096], ['gemv 4096x4096·4096x1', 4096, 4096, 1],
];
const QUICK = ['256', '1024', '4096x4096·4096x32', 'gemv 1x4096·4096x4096'];

const runs = Number(arg('runs', 5));
const only = arg('only', arg('quick', false) ? QUICK.join(',') : '');
const selected = only ? SHAPES.filter(([name]) => String(only).split(',').some((s) => name === s || name.startsWith(s))) : SHAPES;

const peers = [await loadOurs()];
if (relaxedAvailable()) peers.push(await loadOurs({ relaxed: true }));
else console.log('(relaxed build skipped: run node with --experimental-wasm-relaxed-simd)');
if (arg('wasm-opt', false)) {
  mkdirSync('build/bench', { recursive: true });
  // The features AssemblyScript 0.28 enables by default, plus SIMD.
  execFileSync('node_modules/.bin/wasm-opt', ['-O3', '--enable-simd', '--enable-bulk-memory', '--enable-sign-ext',
    '--enable-mutable-globals', '--enable-nontrapping-float-to-int', 'build/kernels.simd.wasm', '-o', 'build/bench/kernels.simd.opt.wasm']);
  peers.push(await loadOurs({ wasmFile: 'build/bench/kernels.simd.opt.wasm' }));
}
const oursCopy = { ...(await loadOurs()), name: 'ours+copy' };
const tfjs = await loadTfjsWasm();
const ort = await loadOrtWeb();
console.log(`${tfjs.detail}; ${ort.detail}; ${runs} runs, median`);

const columns = [...peers.map((p) => p.name), 'ours+copy', 'tfjs-wasm', 'ORT-web', 'ml-matrix', 'plain JS'];
const rows = [];
const records = [];
for (const [name, m, k, n] of selected) {
  const flops = 2 * m * k * n;
  const a = randomF32(m * k, 1), b = randomF32(k * n, 2);
  // Prepare every peer, check it against the first, then time them in interleaved rounds.
  const prepared = {};
  const slow = {};
  const add = async (label, p, isSlow = false) => { prepared[label] = await p; if (isSlow) slow[label] = true; };
  for (const p of peers) await add(p.name, p.prepare(a, b, m, k, n));
  await add('ours+copy', oursCopy.prepare(a, b, m, k, n, { resident: false }));
  await add('tfjs-wasm', tfjs.prepare(a, b, m, k, n));
  await add('ORT-web', ort.prepare(a, b, m, k, n));
  if (flops <= 2 ** 28) await add('ml-matrix', mlMatrix.prepare(a, b, m, k, n), true);
  if (flops <= 2 ** 31) await add('plain JS', plainJs.prepare(a, b, m, k, n), true);
  let reference;
  for (const [label, p] of Object.entries(prepared)) {
    const c = await p.result();
    if (!reference) { reference = c; continue; }
    let err = 0, scale = 0;
    for (let i = 0; i < c.length; i++) { err = Math.max(err, Math.abs(c[i] - reference[i])); scale = Math.max(scale, Math.abs(reference[i])); }
    if (!(err <= 1e-4 * scale * Math.sqrt(k))) console.warn(`!! ${label} disagrees on ${name}: max err ${err} (scale ${scale})`);
  }
  const fast = Object.fromEntries(Object.entries(prepared).filter(([l]) => !slow[l]).map(([l, p]) => [l, () => p.run()]));
  const times = await interleavedMedians(fast, { runs });
  for (const l of Object.keys(slow)) times[l] = await median(() => prepared[l].run(), { runs: 3, warmup: 1 });
  for (const p of Object.values(prepared)) await p.dispose();
  const gf = Object.fromEntries(Object.entries(times).map(([l, t]) => [l, flops / 1e9 / t]));
  const row = [name, ...columns.map((c) => fmt(gf[c], 1)), fmt(gf.ours / gf['tfjs-wasm'])];
  if (gf['ours relaxed']) row.push(fmt(gf['ours relaxed'] / gf.ours));
  rows.push(row);
  records.push({ name, m, k, n, gflops: gf });
  console.log(row.join('  '));
}
console.log('\nGFLOP/s (median of ' + runs + ' runs), single thread');
const header = ['shape', ...columns, 'ours/tfjs'];
if (peers.some((p) => p.name === 'ours relaxed')) header.push('relaxed/simd');
console.log(table(header, rows));
const jsonFile = arg('json', '');
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), runs, records }, null, 1));
