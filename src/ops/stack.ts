// Many StackedMatrix objects ordered into one stack, so a model loads to any
// memory budget; and the stack as one safetensors file laid out in stack order,
// so that any prefix of the file holds a valid budget.
//
// A budget, everywhere: bytes = the size of the model in memory — the tensors
// kept as they are (`keptBytes`) plus the loaded blocks; bits = bits per
// compressed parameter, counting the blocks only.

import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { StackedMatrix, type BlockData, type FactorType } from './bitstack.js';
import { boolOption, options } from './validate.js';
import { readSafetensors, writeSafetensors, tensorBytes, type SafetensorsEntry, type SafetensorsDtype } from '../formats/safetensors.js';

/** A global order: [matrix name, block index], each block after its predecessor. */
export type StackOrder = Array<[string, number]>;

/** Options of {@link stack}. */
export interface StackOptions {
  /** An external order (e.g. a perplexity-ranked one). Default: data-free, see `levelByLevel`. */
  order?: StackOrder;
  /**
   * false (default): every matrix's first block, then a global order by error reduction per byte —
   * ‖ΔW‖_F² removed by a matrix's next block over its bytes, times `importance[name]` (default 1).
   * true: the reference's constraint, level by level (no two matrices differ by more than one
   * block), by reduction per byte within a level.
   */
  levelByLevel?: boolean;
  /** Per-matrix weights of the error reduction (default 1 each). */
  importance?: Record<string, number>;
  /** Bytes of the model's tensors kept beside the blocks (embeddings, norms), counted in every byte budget. Default 0. */
  keptBytes?: number;
}

/** Options of {@link Stack.selectForBudget}. */
export interface BudgetOptions {
  /** Blocks every matrix gets at least (default 1): a budget below that is a `BUDGET` error. */
  minBlocks?: number;
  /**
   * true (default): after the prefix of the order stops at a block that does not fit, keep taking
   * the next block of any matrix whose blocks still fit, in order. false: the strict prefix of the
   * order (what a stream of the file holds).
   */
  fill?: boolean;
}

/** A tensor stored beside the blocks in a stack file. */
export interface StackFileTensor { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }

const FORMAT = 'bitstack-wasm';
/** Format version written: 2 = per-block ranks and int8 factors (version 1 files, f16 only, still read). */
const VERSION = '2';

const own = <T>(map: Record<string, T>, key: string): T | undefined => (Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined);

function checkOrder(mats: Record<string, { blockCount: number }>, order: unknown): StackOrder {
  if (!Array.isArray(order)) throw new BitstackError('ARG', 'order must be an array of [name, blockIndex]');
  const next = new Map<string, number>(Object.keys(mats).map((n) => [n, 0]));
  for (const item of order) {
    if (!Array.isArray(item) || item.length !== 2) throw new BitstackError('ARG', `order entry ${JSON.stringify(item)} is not [name, blockIndex]`);
    const [name, i] = item;
    const due = next.get(name);
    if (due === undefined) throw new BitstackError('ARG', `order names unknown matrix ${JSON.stringify(name)}`);
    if (i !== due) throw new BitstackError('ARG', `order has ${name} block ${i} where block ${due} is due`);
    if (i >= mats[name].blockCount) throw new BitstackError('ARG', `${name} has ${mats[name].blockCount} blocks, order asks for block ${i}`);
    next.set(name, due + 1);
  }
  return (order as StackOrder).map(([n, i]) => [n, i]);
}

/**
 * @internal What the default order and a stack file's layout need of a matrix: a StackedMatrix in
 * memory, or a matrix of a stack file's header (`bitstack-wasm merge` lays shards out unread).
 * `B`: where a tensor's bytes are (in memory, or a range of a file).
 */
export interface StackLayoutMatrix<B extends { byteLength: number }> {
  readonly rows: number; readonly cols: number; readonly factors: FactorType;
  readonly ranks: readonly number[]; readonly blockCount: number;
  readonly norm: number; readonly relativeErrors: ArrayLike<number>;
  blockByteLength(i: number): number;
  /** The F32 [cols] activation scale, when one was used. */
  scaleBytes(): B | null;
  /** Block i's stored parts. */
  blockParts(i: number): { signs: B; a: B; aScale?: B; b: B; bScale?: B };
}

/** @internal A tensor of a stack file's layout, its bytes wherever `B` says. */
export interface StackLayoutTensor<B> { name: string; dtype: SafetensorsDtype; shape: number[]; src: B }

/**
 * @internal The tensors of a stack file in file order, and its metadata (see Stack.toSafetensors):
 * the one layout both toSafetensors and a streaming writer (`bitstack-wasm merge`) follow.
 */
export function stackFileLayout<B extends { byteLength: number }>(
  matrices: Record<string, StackLayoutMatrix<B>>, order: ReadonlyArray<readonly [string, number]>,
  prepend: Array<StackLayoutTensor<B>>, extra: Record<string, string>,
): { tensors: Array<StackLayoutTensor<B>>; metadata: Record<string, string> } {
  const tensors = [...prepend];
  const info = Object.create(null) as Record<string, unknown>;
  for (const [name, sm] of Object.entries(matrices)) {
    const scale = sm.scaleBytes();
    if (scale) tensors.push({ name: `${name}.scale`, dtype: 'F32', shape: [sm.cols], src: scale });
    info[name] = { rows: sm.rows, cols: sm.cols, factors: sm.factors, ranks: sm.ranks, blocks: sm.blockCount, norm: sm.norm, relativeErrors: Array.from(sm.relativeErrors) };
  }
  for (const [name, i] of order) {
    const sm = matrices[name], d = sm.blockParts(i), k = sm.ranks[i];
    tensors.push({ name: `${name}.qweight_${i}`, dtype: 'U8', shape: [d.signs.byteLength], src: d.signs });
    const dtype = sm.factors === 'int8' ? 'I8' : 'F16';
    tensors.push({ name: `${name}.u_${i}`, dtype, shape: [sm.rows, k], src: d.a });
    if (d.aScale) tensors.push({ name: `${name}.u_scale_${i}`, dtype: 'F16', shape: [k], src: d.aScale });
    tensors.push({ name: `${name}.vt_${i}`, dtype, shape: [k, sm.cols], src: d.b });
    if (d.bScale) tensors.push({ name: `${name}.vt_scale_${i}`, dtype: 'F16', shape: [k], src: d.bScale });
  }
  const metadata: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(extra)) metadata[k] = v;
  Object.assign(metadata, { format: FORMAT, version: VERSION, order: JSON.stringify(order), matrices: JSON.stringify(info) });
  return { tensors, metadata };
}

/** What the default order needs of a matrix. */
type OrderMatrix = Pick<StackLayoutMatrix<Uint8Array>, 'blockCount' | 'norm' | 'relativeErrors' | 'blockByteLength'>;

/** ‖ΔW‖² removed by block i of a matrix, per byte (NaN when the errors are unknown). */
function gainPerByte(sm: OrderMatrix, i: number, weight: number): number {
  const before = i === 0 ? 1 : sm.relativeErrors[i - 1], after = sm.relativeErrors[i];
  return weight * sm.norm * sm.norm * (before * before - after * after) / sm.blockByteLength(i);
}

/** @internal The data-free order (see StackOptions.levelByLevel). */
export function defaultOrder(mats: Record<string, OrderMatrix>, levelByLevel: boolean, importance: Record<string, number>): StackOrder {
  const names = Object.keys(mats).sort();
  const next = new Map(names.map((n) => [n, 0]));
  const order: StackOrder = [];
  const total = names.reduce((s, n) => s + mats[n].blockCount, 0);
  const gain = (n: string) => {
    const g = gainPerByte(mats[n], next.get(n)!, own(importance, n) ?? 1);
    return Number.isNaN(g) ? 0 : g;
  };
  while (order.length < total) {
    const open = names.filter((n) => next.get(n)! < mats[n].blockCount);
    const level = Math.min(...open.map((n) => next.get(n)!));
    // Level 0 comes first either way: every prefix past it leaves no matrix at zero blocks.
    const candidates = levelByLevel || level === 0 ? open.filter((n) => next.get(n) === level) : open;
    // Highest gain per byte; ties by name (deterministic).
    let best = candidates[0];
    for (const n of candidates) if (gain(n) > gain(best)) best = n;
    order.push([best, next.get(best)!]);
    next.set(best, next.get(best)! + 1);
  }
  return order;
}

/** What a stack's budget arithmetic needs of a matrix: its shape and its blocks' sizes. */
export interface BudgetMatrix {
  readonly rows: number; readonly cols: number; readonly blockCount: number;
  /** Bytes of block i as stored. */
  blockByteLength(i: number): number;
  /** Bytes of the first `count` blocks. */
  byteLength(count?: number): number;
}

/**
 * The budget arithmetic of matrices in a stack order — sizes, bits per parameter, blocks per matrix
 * for a budget — over anything that knows its blocks' sizes: a {@link Stack} in memory, or a stack
 * file's header alone (the CLI's `info` and `extract` on files of any size).
 */
export class StackBudget<M extends BudgetMatrix = BudgetMatrix> {
  /** The matrices by name (an object without prototype: any name is an ordinary key). */
  readonly matrices: Readonly<Record<string, M>>;
  readonly order: ReadonlyArray<readonly [string, number]>;
  /** Bytes of the tensors kept beside the blocks (read from the file, or `opts.keptBytes`). */
  readonly keptBytes: number;

  /** @internal Use `bw.stack()` or `bw.readStack()`. */
  constructor(matrices: Record<string, M>, order: StackOrder, keptBytes = 0) {
    this.matrices = Object.freeze(Object.assign(Object.create(null) as Record<string, M>, matrices));
    this.order = Object.freeze(order.map((e) => Object.freeze([e[0], e[1]] as const)));
    this.keptBytes = keptBytes;
  }

  /** Parameters of the compressed matrices (Σ rows·cols): the denominator of bits per parameter. */
  get parameterCount(): number {
    return Object.values(this.matrices).reduce((s, m) => s + m.rows * m.cols, 0);
  }

  /** Bytes of the blocks of the first `count` entries of the order (default all). */
  byteLength(count = this.order.length): number {
    let bytes = 0;
    for (const [name, i] of this.order.slice(0, count)) bytes += this.matrices[name].blockByteLength(i);
    return bytes;
  }

  /** Bytes of the model with `counts` blocks per matrix: kept tensors plus those blocks. */
  bytesFor(counts: Readonly<Record<string, number>>): number {
    let bytes = this.keptBytes;
    for (const [name, sm] of Object.entries(this.matrices)) bytes += sm.byteLength(own(counts, name) ?? 0);
    return bytes;
  }

  /** Bits per compressed parameter of `counts` blocks per matrix (blocks only). */
  bitsFor(counts: Readonly<Record<string, number>>): number {
    return (this.bytesFor(counts) - this.keptBytes) * 8 / this.parameterCount;
  }

  /** The byte budget (kept tensors + blocks) that a budget of `bits` per compressed parameter (blocks only) means. */
  budgetForBits(bits: number): number {
    if (typeof bits !== 'number' || !(bits >= 0) || !Number.isFinite(bits)) throw new BitstackError('ARG', `bits must be a non-negative number, got ${String(bits)}`);
    return this.keptBytes + Math.floor(bits * this.parameterCount / 8);
  }

  /** The smallest byte budget that gives every matrix `minBlocks` blocks (kept tensors included). */
  minimumBytes(minBlocks = 1): number {
    const counts = Object.create(null) as Record<string, number>;
    for (const [name, sm] of Object.entries(this.matrices)) counts[name] = Math.min(minBlocks, sm.blockCount);
    return this.bytesFor(counts);
  }

  /**
   * Blocks to load per matrix for a budget of `bytes` — the model's size in memory: the kept
   * tensors (`keptBytes`) plus the blocks. Every matrix gets `minBlocks` blocks (a smaller budget
   * is a `BUDGET` error that gives the minimum); then the order is followed (see `opts.fill`).
   */
  selectForBudget(bytes: number, opts: BudgetOptions = {}): Record<string, number> {
    if (typeof bytes !== 'number' || !(bytes >= 0)) throw new BitstackError('ARG', `budget must be a non-negative number of bytes, got ${String(bytes)}`);
    opts = options('opts', opts);
    const most = Math.max(...Object.values(this.matrices).map((m) => m.blockCount));
    const minBlocks = opts.minBlocks === undefined ? 1 : opts.minBlocks;
    if (!Number.isInteger(minBlocks) || minBlocks < 0 || minBlocks > most) throw new BitstackError('ARG', `opts.minBlocks must be an integer in [0, ${most}], got ${String(opts.minBlocks)}`);
    const fill = boolOption('opts.fill', opts.fill, true);
    const minimum = this.minimumBytes(minBlocks);
    if (bytes < minimum) {
      const bits = (minimum - this.keptBytes) * 8 / this.parameterCount;
      throw new BitstackError('BUDGET', `budget of ${bytes} bytes is below the minimum of ${minimum} bytes (${minBlocks} block${minBlocks === 1 ? '' : 's'} of every matrix: ${bits.toFixed(3)} bits per compressed parameter, plus ${this.keptBytes} bytes of kept tensors)`);
    }
    const counts = Object.create(null) as Record<string, number>;
    for (const [name, sm] of Object.entries(this.matrices)) counts[name] = Math.min(minBlocks, sm.blockCount);
    let used = minimum;
    const closed = new Set<string>();
    for (const [name, i] of this.order) {
      if (i < counts[name] || closed.has(name)) continue;
      const b = this.matrices[name].blockByteLength(i);
      if (used + b > bytes) {
        if (!fill) break;
        closed.add(name); // its later blocks need this one
        continue;
      }
      used += b;
      counts[name]++;
    }
    return counts;
  }
}

/** Matrices ordered into one stack. */
export class Stack extends StackBudget<StackedMatrix> {
  /**
   * One safetensors file, data laid out in stack order: `opts.prepend` tensors (kept tensors, which
   * every budget needs) and the scales first, then per block `<name>.qweight_<i>` (U8 packed signs),
   * `<name>.u_<i>` (m×k) and `<name>.vt_<i>` (k×n) — F16 (the reference's names and layout), or I8
   * each followed by its f16 scales `<name>.u_scale_<i>` / `<name>.vt_scale_<i>` [k] — plus
   * `<name>.scale` F32 when a scale was used. `__metadata__`: format, version, order and per-matrix
   * shapes, ranks and errors, and `opts.metadata` (string values).
   */
  toSafetensors(opts: { prepend?: StackFileTensor[]; metadata?: Record<string, string> } = {}): Uint8Array {
    opts = options('opts', opts);
    if (opts.prepend !== undefined && !Array.isArray(opts.prepend)) throw new BitstackError('ARG', 'opts.prepend must be an array of tensors');
    for (const v of Object.values(options('opts.metadata', opts.metadata))) if (typeof v !== 'string') throw new BitstackError('ARG', 'opts.metadata values must be strings');
    const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const layout = Object.create(null) as Record<string, StackLayoutMatrix<Uint8Array>>;
    for (const [name, sm] of Object.entries(this.matrices)) {
      layout[name] = {
        rows: sm.rows, cols: sm.cols, factors: sm.factors, ranks: sm.ranks, blockCount: sm.blockCount, norm: sm.norm,
        relativeErrors: sm.relativeErrors, blockByteLength: (i) => sm.blockByteLength(i),
        scaleBytes: () => (sm.scale ? new Uint8Array(sm.scale.buffer) : null),
        blockParts: (i) => {
          const d = sm.blockData(i);
          return { signs: d.signs, a: bytesOf(d.a), b: bytesOf(d.b), ...(d.aScale ? { aScale: bytesOf(d.aScale), bScale: bytesOf(d.bScale!) } : {}) };
        },
      };
    }
    const prepend = (opts.prepend ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, src: t.bytes }));
    const { tensors, metadata } = stackFileLayout(layout, this.order, prepend, opts.metadata ?? {});
    return writeSafetensors(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.src })), metadata);
  }
}

export function stack(mats: Record<string, StackedMatrix>, opts: StackOptions = {}): Stack {
  if (typeof mats !== 'object' || mats === null || !Object.keys(mats).length) throw new BitstackError('ARG', 'stack needs { name: StackedMatrix, … }');
  opts = options('opts', opts);
  for (const [name, sm] of Object.entries(mats)) {
    if (!(sm instanceof StackedMatrix)) throw new BitstackError('ARG', `${name} is not a StackedMatrix`);
    if (!sm.blockCount) throw new BitstackError('ARG', `${name} was freed`);
  }
  const kept = opts.keptBytes ?? 0;
  if (typeof kept !== 'number' || !Number.isSafeInteger(kept) || kept < 0) throw new BitstackError('ARG', `opts.keptBytes must be a non-negative integer, got ${String(kept)}`);
  const importance = options('opts.importance', opts.importance);
  for (const [name, v] of Object.entries(importance)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BitstackError('ARG', `opts.importance[${JSON.stringify(name)}] must be a finite number ≥ 0, got ${String(v)}`);
  }
  const order = opts.order !== undefined ? checkOrder(mats, opts.order) : defaultOrder(mats, boolOption('opts.levelByLevel', opts.levelByLevel, false), importance);
  return new Stack(mats, order, kept);
}

const fail = (message: string): never => {
  throw new BitstackError('FORMAT', `bitstack file: ${message}`);
};

/**
 * The order encoded by the reference's compression configs (its `generate_configs`): a list of
 * { memory, layers: { name: blocks } } where the first has every layer at 1 block and each next one
 * adds one block to one layer. A single { name: blocks } mapping is read as "these first", level by
 * level. Blocks the configs do not reach follow level by level.
 */
export function orderFromCompressionConfig(config: unknown, mats: Record<string, StackedMatrix>): StackOrder {
  const list = Array.isArray(config) ? config : [{ layers: config }];
  const steps = list.map((c) => (c as { layers?: unknown })?.layers);
  if (!steps.length || steps.some((l) => typeof l !== 'object' || l === null || Array.isArray(l))) fail('compression config: expected [{ memory, layers: { name: blocks } }, …]');
  const sorted = list.length > 1 ? [...list].sort((a, b) => Number((a as { memory: number }).memory) - Number((b as { memory: number }).memory)) : list;
  const counts = new Map<string, number>(Object.keys(mats).map((n) => [n, 0]));
  const order: StackOrder = [];
  const push = (name: string) => {
    const c = counts.get(name) ?? fail(`compression config names ${JSON.stringify(name)}, which the file does not hold`);
    if (c >= mats[name].blockCount) fail(`compression config asks for more blocks of ${name} than the file holds`);
    order.push([name, c]);
    counts.set(name, c + 1);
  };
  const first = (sorted[0] as { layers: Record<string, unknown> }).layers;
  const depth = Math.max(0, ...Object.values(first).map(Number));
  for (let level = 0; level < depth; level++) {
    for (const [name, c] of Object.entries(first).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!Number.isInteger(c) || (c as number) < 0) fail(`compression config: ${name} has ${String(c)} blocks`);
      if (level < (c as number)) push(name);
    }
  }
  for (const c of sorted.slice(1)) {
    const layers = (c as { layers: Record<string, number> }).layers;
    const grown = Object.keys(layers).filter((n) => layers[n] !== counts.get(n));
    if (grown.length !== 1 || layers[grown[0]] !== (counts.get(grown[0]) ?? NaN) + 1) fail('compression config: consecutive configs must add exactly one block to one layer');
    push(grown[0]);
  }
  // The rest, level by level.
  const names = Object.keys(mats).sort();
  for (let more = true; more;) {
    more = false;
    const level = Math.min(...names.map((n) => (counts.get(n)! < mats[n].blockCount ? counts.get(n)! : Infinity)));
    for (const n of names) {
      const c = counts.get(n)!;
      if (c === level && c < mats[n].blockCount) { order.push([n, c]); counts.set(n, c + 1); more = true; }
    }
  }
  return order;
}

/** The stored parts of one matrix in a stack file, by block index. */
interface FileParts { blocks: Map<number, BlockParts>; scale?: SafetensorsEntry }
type BlockParts = Partial<Record<'qweight' | 'u' | 'vt' | 'u_scale' | 'vt_scale', SafetensorsEntry>>;

const BLOCK_PART = /^(.+)\.(qweight|u_scale|vt_scale|u|vt)_(0|[1-9][0-9]{0,8})$/;
const SCALE = /^(.+)\.scale$/;

/** Whether a tensor name is one of a stack's block parts (not a kept tensor); `.scale` tensors count only beside blocks. */
export function isBlockTensor(name: string, matrices: { has(name: string): boolean }): boolean {
  const m = BLOCK_PART.exec(name);
  if (m) return matrices.has(m[1]);
  const s = SCALE.exec(name);
  return !!s && matrices.has(s[1]);
}

/** True when any of the f16 bits is Inf or NaN. */
const nonFiniteHalf = (h: Uint16Array) => h.some((v) => (v & 0x7c00) === 0x7c00);

/** @internal One matrix of a stack file, from its header alone: shapes checked, bytes not read yet. */
export interface MatrixPlan {
  name: string; rows: number; cols: number; factors: FactorType;
  /** Per block: its rank and its parts (byte ranges relative to the data section). */
  blocks: Array<{ k: number; parts: BlockParts }>;
  scale?: SafetensorsEntry;
  errors: Float64Array; norm: number;
}

/** @internal The matrices of a stack file from its header (every block's parts present with consistent shapes). */
export function planStack(tensors: SafetensorsEntry[], metadata: Record<string, string>): { plans: Map<string, MatrixPlan>; keptBytes: number } {
  const parts = new Map<string, FileParts>();
  const scales = new Map<string, SafetensorsEntry>();
  for (const t of tensors) {
    const m = BLOCK_PART.exec(t.name);
    if (m) {
      let p = parts.get(m[1]);
      if (!p) parts.set(m[1], p = { blocks: new Map() });
      const i = Number(m[3]);
      let blk = p.blocks.get(i);
      if (!blk) p.blocks.set(i, blk = {});
      blk[m[2] as 'qweight'] = t;
      continue;
    }
    const s = SCALE.exec(t.name);
    if (s) scales.set(s[1], t);
  }
  for (const [name, t] of scales) { const p = parts.get(name); if (p) p.scale = t; }
  let info = new Map<string, { relativeErrors?: unknown; norm?: unknown }>();
  if (metadata.format === FORMAT && metadata.matrices) {
    let parsed: unknown;
    try { parsed = JSON.parse(metadata.matrices); } catch { fail('metadata "matrices" is not JSON'); }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) info = new Map(Object.entries(parsed as Record<string, { relativeErrors?: unknown; norm?: unknown }>));
  }
  const plans = new Map<string, MatrixPlan>();
  let blockBytes = 0;
  for (const [name, p] of parts) {
    const count = p.blocks.size;
    const first = p.blocks.get(0) ?? fail(`${name}: block 0 is missing`);
    const u0 = first.u ?? fail(`${name}.u_0 is missing`), vt0 = first.vt ?? fail(`${name}.vt_0 is missing`);
    if (u0.shape.length !== 2 || vt0.shape.length !== 2) fail(`${name}: u_0 and vt_0 must be 2-D`);
    const rows = u0.shape[0], cols = vt0.shape[1];
    const factors: FactorType = u0.dtype === 'I8' ? 'int8' : u0.dtype === 'F16' ? 'f16' : fail(`${name}.u_0 must be F16 or I8, not ${u0.dtype}`);
    if (rows < 1 || cols < 1) fail(`${name}: empty factors`);
    const dtype = factors === 'int8' ? 'I8' : 'F16';
    const blocks: MatrixPlan['blocks'] = [];
    for (let i = 0; i < count; i++) {
      const blk = p.blocks.get(i) ?? fail(`${name}: block ${i} is missing (the file has ${count} blocks)`);
      const q = blk.qweight ?? fail(`${name}.qweight_${i} is missing`);
      const u = blk.u ?? fail(`${name}.u_${i} is missing`);
      const vt = blk.vt ?? fail(`${name}.vt_${i} is missing`);
      const k = u.shape[1];
      if (u.dtype !== dtype || u.shape.length !== 2 || u.shape[0] !== rows || !(k >= 1)) fail(`${name}.u_${i} must be ${dtype} [${rows}, k]`);
      if (k > 32) throw new BitstackError('UNSUPPORTED', `${name}: rank ${k} > 32 is not supported`);
      if (vt.dtype !== dtype || vt.shape.join() !== `${k},${cols}`) fail(`${name}.vt_${i} must be ${dtype} [${k}, ${cols}]`);
      if (q.dtype !== 'U8' || q.end - q.begin !== Math.ceil(rows * cols / 8)) fail(`${name}.qweight_${i} must be ${Math.ceil(rows * cols / 8)} U8 bytes`);
      if (factors === 'int8') {
        const us = blk.u_scale ?? fail(`${name}.u_scale_${i} is missing`), vs = blk.vt_scale ?? fail(`${name}.vt_scale_${i} is missing`);
        for (const [e, what] of [[us, 'u_scale'], [vs, 'vt_scale']] as const) if (e.dtype !== 'F16' || e.shape.join() !== `${k}`) fail(`${name}.${what}_${i} must be F16 [${k}]`);
      } else if (blk.u_scale || blk.vt_scale) {
        fail(`${name}: block ${i} has scales but F16 factors`);
      }
      for (const e of Object.values(blk)) blockBytes += e!.end - e!.begin;
      blocks.push({ k, parts: blk });
    }
    if (p.scale && (p.scale.dtype !== 'F32' || p.scale.shape.join() !== `${cols}`)) fail(`${name}.scale must be F32 [${cols}]`);
    const meta = info.get(name);
    const known = meta?.relativeErrors;
    const errors = Array.isArray(known) && known.length === count && known.every((v) => typeof v === 'number') ? Float64Array.from(known as number[]) : new Float64Array(count).fill(NaN);
    plans.set(name, { name, rows, cols, factors, blocks, scale: p.scale, errors, norm: typeof meta?.norm === 'number' ? meta.norm : NaN });
  }
  if (!plans.size) fail('no BitStack tensors (<name>.qweight_<i>, .u_<i>, .vt_<i>)');
  const total = tensors.reduce((sum, t) => sum + t.end - t.begin, 0);
  return { plans, keptBytes: total - blockBytes };
}

/** @internal Block i of a plan from its bytes (`bytesOf` gives a tensor's bytes): copies, finite factors checked. */
export function blockDataOf(plan: MatrixPlan, i: number, bytesOf: (e: SafetensorsEntry) => Uint8Array): BlockData {
  const { parts } = plan.blocks[i];
  // new Uint8Array(view) copies: a Node Buffer's slice() would share its (larger) ArrayBuffer.
  const copy = (e: SafetensorsEntry) => new Uint8Array(bytesOf(e)).buffer;
  const signs = new Uint8Array(copy(parts.qweight!));
  if (plan.factors === 'int8') {
    const d = { signs, a: new Int8Array(copy(parts.u!)), b: new Int8Array(copy(parts.vt!)), aScale: new Uint16Array(copy(parts.u_scale!)), bScale: new Uint16Array(copy(parts.vt_scale!)) };
    if (nonFiniteHalf(d.aScale) || nonFiniteHalf(d.bScale)) fail(`${plan.name}: block ${i} has a non-finite scale`);
    return d;
  }
  const d = { signs, a: new Uint16Array(copy(parts.u!)), b: new Uint16Array(copy(parts.vt!)) };
  if (nonFiniteHalf(d.a) || nonFiniteHalf(d.b)) fail(`${plan.name}: block ${i} has non-finite factors`);
  return d;
}

/** @internal A plan's activation scale from its bytes (null when it has none). */
export function scaleOf(plan: MatrixPlan, bytesOf: (e: SafetensorsEntry) => Uint8Array): Float32Array | null {
  if (!plan.scale) return null;
  const scale = new Float32Array(new Uint8Array(bytesOf(plan.scale)).buffer);
  if (scale.some((v) => !(v > 0) || !Number.isFinite(v))) fail(`${plan.name}.scale must be positive and finite`);
  return scale;
}

/** Bytes of each block of a plan as stored: packed signs, factors, int8 scales. */
function planBlockBytes(plan: MatrixPlan): number[] {
  return plan.blocks.map((b) => Object.values(b.parts).reduce((s, e) => s + e!.end - e!.begin, 0));
}

/** @internal A matrix of a stack file known from its header alone. */
export interface PlannedMatrix extends BudgetMatrix {
  readonly plan: MatrixPlan; readonly factors: FactorType; readonly ranks: readonly number[];
  readonly norm: number; readonly relativeErrors: Float64Array;
}

/**
 * @internal A stack file's budget arithmetic from its header alone (no block read), in the order
 * readStack gives it by default: the metadata's, else level by level.
 */
export function stackBudgetOf(tensors: SafetensorsEntry[], metadata: Record<string, string>): StackBudget<PlannedMatrix> {
  const { plans, keptBytes } = planStack(tensors, metadata);
  const mats = Object.create(null) as Record<string, PlannedMatrix>;
  for (const [name, plan] of plans) {
    const bytes = planBlockBytes(plan);
    mats[name] = {
      plan, rows: plan.rows, cols: plan.cols, factors: plan.factors, ranks: plan.blocks.map((b) => b.k), blockCount: bytes.length,
      norm: plan.norm, relativeErrors: plan.errors,
      blockByteLength: (i) => bytes[i],
      byteLength: (count = bytes.length) => bytes.slice(0, count).reduce((a, b) => a + b, 0),
    };
  }
  const fromFile = metadataOrder(metadata);
  let order: StackOrder;
  try {
    order = fromFile === undefined ? defaultOrder(mats, true, Object.create(null)) : checkOrder(mats, fromFile);
  } catch (e) {
    if (e instanceof BitstackError && e.code === 'ARG') fail(`metadata order: ${e.message}`);
    throw e;
  }
  return new StackBudget(mats, order, keptBytes);
}

/** @internal The stack order a file's metadata gives (undefined when it has none). */
export function metadataOrder(metadata: Record<string, string>): StackOrder | undefined {
  if (metadata.format !== FORMAT || !metadata.order) return undefined;
  try { return JSON.parse(metadata.order); } catch { return fail('metadata "order" is not JSON'); }
}

/**
 * Reads a stack written by `toSafetensors` (versions 1 and 2), or a checkpoint of the reference
 * (same tensor names, F16 factors). Order: `opts.order`, else `opts.compressionConfig` (the
 * reference's configs, parsed JSON), else the file's metadata, else level by level. Tensors that
 * are not block parts are the caller's (kept tensors): their bytes are the stack's `keptBytes`.
 */
export function readStack(rt: Runtime, bytes: Uint8Array, opts: { order?: StackOrder; compressionConfig?: unknown } = {}): Stack {
  opts = options('opts', opts);
  const file = readSafetensors(bytes);
  const { plans, keptBytes } = planStack(file.tensors, file.metadata);
  const bytesOf = (e: SafetensorsEntry) => tensorBytes(file, e);
  const mats = Object.create(null) as Record<string, StackedMatrix>;
  try {
    for (const [name, plan] of plans) {
      const data = plan.blocks.map((_, i) => blockDataOf(plan, i, bytesOf));
      mats[name] = StackedMatrix.fromBlocks(rt, plan.rows, plan.cols, plan.factors, data, plan.errors, scaleOf(plan, bytesOf), plan.norm);
    }
    let order: StackOrder | undefined = opts.order;
    if (order === undefined && opts.compressionConfig !== undefined) order = orderFromCompressionConfig(opts.compressionConfig, mats);
    if (order === undefined) order = metadataOrder(file.metadata);
    try {
      return stack(mats, { ...(order === undefined ? { levelByLevel: true } : { order }), keptBytes });
    } catch (e) {
      if (e instanceof BitstackError && e.code === 'ARG' && opts.order === undefined) fail(`metadata order: ${e.message}`);
      throw e;
    }
  } catch (e) {
    for (const sm of Object.values(mats)) sm.free();
    throw e;
  }
}
