// Many StackedMatrix objects ordered into one stack, so a model loads to any
// memory budget; and the stack as one safetensors file laid out in stack order,
// so that any prefix of the file holds a valid budget.

import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { StackedMatrix, type BlockData } from './bitstack.js';
import { readSafetensors, writeSafetensors, tensorBytes, type SafetensorsEntry, type SafetensorsDtype } from '../formats/safetensors.js';

/** A global order: [matrix name, block index], each block after its predecessor. */
export type StackOrder = Array<[string, number]>;

/** Options of {@link stack}. */
export interface StackOptions {
  /** An external order (e.g. a perplexity-ranked one). Default: data-free, see `levelByLevel`. */
  order?: StackOrder;
  /**
   * false (default): global order by error reduction per byte — ‖ΔW‖_F² removed by a matrix's next
   * block over its bytes, times `importance[name]` (default 1). true: the reference's constraint,
   * level by level (no two matrices differ by more than one block), by reduction per byte within a level.
   */
  levelByLevel?: boolean;
  /** Per-matrix weights of the error reduction (default 1 each). */
  importance?: Record<string, number>;
}

const FORMAT = 'bitstack-wasm';

function checkOrder(mats: Record<string, StackedMatrix>, order: unknown): StackOrder {
  if (!Array.isArray(order)) throw new BitstackError('ARG', 'order must be an array of [name, blockIndex]');
  const next: Record<string, number> = {};
  for (const name of Object.keys(mats)) next[name] = 0;
  for (const item of order) {
    if (!Array.isArray(item) || item.length !== 2) throw new BitstackError('ARG', `order entry ${JSON.stringify(item)} is not [name, blockIndex]`);
    const [name, i] = item;
    if (!(name in next)) throw new BitstackError('ARG', `order names unknown matrix ${JSON.stringify(name)}`);
    if (i !== next[name]) throw new BitstackError('ARG', `order has ${name} block ${i} where block ${next[name]} is due`);
    if (i >= mats[name].blockCount) throw new BitstackError('ARG', `${name} has ${mats[name].blockCount} blocks, order asks for block ${i}`);
    next[name]++;
  }
  return (order as StackOrder).map(([n, i]) => [n, i]);
}

/** ‖ΔW‖² removed by block i of a matrix, per byte (NaN when the errors are unknown). */
function gainPerByte(sm: StackedMatrix, i: number, weight: number): number {
  const before = i === 0 ? 1 : sm.relativeErrors[i - 1], after = sm.relativeErrors[i];
  return weight * sm.norm * sm.norm * (before * before - after * after) / sm.blockBytes;
}

function defaultOrder(mats: Record<string, StackedMatrix>, levelByLevel: boolean, importance: Record<string, number>): StackOrder {
  const names = Object.keys(mats).sort();
  const next = Object.fromEntries(names.map((n) => [n, 0]));
  const order: StackOrder = [];
  const total = names.reduce((s, n) => s + mats[n].blockCount, 0);
  const gain = (n: string) => {
    const g = gainPerByte(mats[n], next[n], importance[n] ?? 1);
    return Number.isNaN(g) ? 0 : g;
  };
  while (order.length < total) {
    const open = names.filter((n) => next[n] < mats[n].blockCount);
    const level = Math.min(...open.map((n) => next[n]));
    const candidates = levelByLevel ? open.filter((n) => next[n] === level) : open;
    // Highest gain per byte; ties by name (deterministic).
    let best = candidates[0];
    for (const n of candidates) if (gain(n) > gain(best)) best = n;
    order.push([best, next[best]++]);
  }
  return order;
}

/** Matrices ordered into one stack. */
export class Stack {
  readonly matrices: Readonly<Record<string, StackedMatrix>>;
  readonly order: ReadonlyArray<readonly [string, number]>;

  /** @internal Use `bw.stack()` or `bw.readStack()`. */
  constructor(matrices: Record<string, StackedMatrix>, order: StackOrder) {
    this.matrices = Object.freeze({ ...matrices });
    this.order = Object.freeze(order.map((e) => Object.freeze([e[0], e[1]] as const)));
  }

  /** Bytes of the first `count` entries of the order (default all). */
  byteLength(count = this.order.length): number {
    let bytes = 0;
    for (const [name] of this.order.slice(0, count)) bytes += this.matrices[name].blockBytes;
    return bytes;
  }

  /**
   * Blocks to load per matrix for a budget: the longest prefix of the order whose blocks fit in
   * `bytes` (add the bytes of fixed tensors — embeddings, norms — to your own accounting).
   */
  selectForBudget(bytes: number): Record<string, number> {
    if (typeof bytes !== 'number' || !(bytes >= 0)) throw new BitstackError('ARG', `budget must be a non-negative number of bytes, got ${String(bytes)}`);
    const counts: Record<string, number> = Object.fromEntries(Object.keys(this.matrices).map((n) => [n, 0]));
    let used = 0;
    for (const [name] of this.order) {
      const b = this.matrices[name].blockBytes;
      if (used + b > bytes) break;
      used += b;
      counts[name]++;
    }
    return counts;
  }

  /**
   * One safetensors file with the reference's tensor names (`<name>.qweight_<i>` U8, `<name>.u_<i>` F16 m×k,
   * `<name>.vt_<i>` F16 k×n, plus `<name>.scale` F32 when a scale was used), data laid out in stack order
   * (`opts.prepend` tensors, then scales, first), and the order and shapes in `__metadata__`.
   */
  toSafetensors(opts: { prepend?: Array<{ name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }> } = {}): Uint8Array {
    // Tensors every budget needs (embeddings, norms: `prepend`) and the scales come first.
    const tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }[] = [...(opts.prepend ?? [])];
    const info: Record<string, unknown> = {};
    for (const [name, sm] of Object.entries(this.matrices)) {
      const scale = sm.scale;
      if (scale) tensors.push({ name: `${name}.scale`, dtype: 'F32', shape: [sm.cols], bytes: new Uint8Array(scale.buffer) });
      info[name] = { rows: sm.rows, cols: sm.cols, rank: sm.rank, blocks: sm.blockCount, norm: sm.norm, relativeErrors: Array.from(sm.relativeErrors) };
    }
    for (const [name, i] of this.order) {
      const sm = this.matrices[name], d = sm.blockData(i);
      tensors.push({ name: `${name}.qweight_${i}`, dtype: 'U8', shape: [d.signs.length], bytes: d.signs });
      tensors.push({ name: `${name}.u_${i}`, dtype: 'F16', shape: [sm.rows, sm.rank], bytes: new Uint8Array(d.a.buffer) });
      tensors.push({ name: `${name}.vt_${i}`, dtype: 'F16', shape: [sm.rank, sm.cols], bytes: new Uint8Array(d.b.buffer) });
    }
    return writeSafetensors(tensors, { format: FORMAT, version: '1', order: JSON.stringify(this.order), matrices: JSON.stringify(info) });
  }
}

export function stack(mats: Record<string, StackedMatrix>, opts: StackOptions = {}): Stack {
  if (typeof mats !== 'object' || mats === null || !Object.keys(mats).length) throw new BitstackError('ARG', 'stack needs { name: StackedMatrix, … }');
  for (const [name, sm] of Object.entries(mats)) {
    if (!(sm instanceof StackedMatrix)) throw new BitstackError('ARG', `${name} is not a StackedMatrix`);
    if (!sm.blockCount) throw new BitstackError('ARG', `${name} was freed`);
  }
  const order = opts.order !== undefined ? checkOrder(mats, opts.order) : defaultOrder(mats, !!opts.levelByLevel, opts.importance ?? {});
  return new Stack(mats, order);
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
  const counts: Record<string, number> = Object.fromEntries(Object.keys(mats).map((n) => [n, 0]));
  const order: StackOrder = [];
  const push = (name: string) => {
    if (!(name in counts)) fail(`compression config names ${JSON.stringify(name)}, which the file does not hold`);
    if (counts[name] >= mats[name].blockCount) fail(`compression config asks for more blocks of ${name} than the file holds`);
    order.push([name, counts[name]++]);
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
    const grown = Object.keys(layers).filter((n) => layers[n] !== counts[n]);
    if (grown.length !== 1 || layers[grown[0]] !== counts[grown[0]] + 1) fail('compression config: consecutive configs must add exactly one block to one layer');
    push(grown[0]);
  }
  // The rest, level by level.
  const names = Object.keys(mats).sort();
  for (let more = true; more;) {
    more = false;
    const level = Math.min(...names.map((n) => (counts[n] < mats[n].blockCount ? counts[n] : Infinity)));
    for (const n of names) if (counts[n] === level && counts[n] < mats[n].blockCount) { order.push([n, counts[n]++]); more = true; }
  }
  return order;
}

/**
 * Reads a stack written by `toSafetensors`, or a checkpoint of the reference (same tensor names).
 * Order: `opts.order`, else `opts.compressionConfig` (the reference's configs, parsed JSON), else
 * the file's metadata, else level by level.
 */
export function readStack(rt: Runtime, bytes: Uint8Array, opts: { order?: StackOrder; compressionConfig?: unknown } = {}): Stack {
  const file = readSafetensors(bytes);
  const parts: Record<string, { q: Record<number, SafetensorsEntry>; u: Record<number, SafetensorsEntry>; vt: Record<number, SafetensorsEntry>; scale?: SafetensorsEntry }> = {};
  for (const t of file.tensors) {
    const m = /^(.+)\.(qweight|u|vt)_(\d+)$/.exec(t.name);
    const s = /^(.+)\.scale$/.exec(t.name);
    if (!m && !s) continue; // other tensors (embeddings, norms) are the caller's
    const name = (m ?? s)![1];
    parts[name] ??= { q: {}, u: {}, vt: {} };
    if (s) { parts[name].scale = t; continue; }
    const kind = m![2] as 'qweight' | 'u' | 'vt', i = Number(m![3]);
    (kind === 'qweight' ? parts[name].q : parts[name][kind])[i] = t;
  }
  let info: Record<string, { relativeErrors?: number[]; norm?: number }> = {};
  if (file.metadata.format === FORMAT && file.metadata.matrices) {
    try { info = JSON.parse(file.metadata.matrices); } catch { fail('metadata "matrices" is not JSON'); }
  }
  const mats: Record<string, StackedMatrix> = {};
  try {
    for (const [name, p] of Object.entries(parts)) {
      const count = Object.keys(p.u).length;
      if (!count) fail(`${name} has no blocks`);
      const u0 = p.u[0] ?? fail(`${name}: block 0 is missing`);
      if (u0.dtype !== 'F16' || u0.shape.length !== 2) fail(`${name}.u_0 must be F16 m×k`);
      const [rows, rank] = u0.shape;
      const vt0 = p.vt[0] ?? fail(`${name}.vt_0 is missing`);
      if (vt0.dtype !== 'F16' || vt0.shape.length !== 2 || vt0.shape[0] !== rank) fail(`${name}.vt_0 must be F16 k×n with k = ${rank}`);
      const cols = vt0.shape[1];
      if (rows < 1 || cols < 1 || rank < 1) fail(`${name}: empty factors`);
      if (rank > 16) throw new BitstackError('UNSUPPORTED', `${name}: rank ${rank} > 16 is not supported by the LUT kernel`);
      const data: BlockData[] = [];
      for (let i = 0; i < count; i++) {
        const q = p.q[i] ?? fail(`${name}.qweight_${i} is missing`);
        const u = p.u[i] ?? fail(`${name}.u_${i} is missing`);
        const vt = p.vt[i] ?? fail(`${name}.vt_${i} is missing`);
        if (q.dtype !== 'U8' || q.end - q.begin !== Math.ceil(rows * cols / 8)) fail(`${name}.qweight_${i} must be ${Math.ceil(rows * cols / 8)} U8 bytes`);
        if (u.dtype !== 'F16' || u.shape.join() !== `${rows},${rank}`) fail(`${name}.u_${i} must be F16 [${rows}, ${rank}]`);
        if (vt.dtype !== 'F16' || vt.shape.join() !== `${rank},${cols}`) fail(`${name}.vt_${i} must be F16 [${rank}, ${cols}]`);
        const half = (e: SafetensorsEntry) => { const b = tensorBytes(file, e).slice(); return new Uint16Array(b.buffer, 0, b.length / 2); };
        data.push({ signs: tensorBytes(file, q).slice(), a: half(u), b: half(vt) });
      }
      if (Object.keys(p.q).length !== count || Object.keys(p.vt).length !== count) fail(`${name}: block parts do not match`);
      let scale: Float32Array | null = null;
      if (p.scale) {
        if (p.scale.dtype !== 'F32' || p.scale.shape.join() !== `${cols}`) fail(`${name}.scale must be F32 [${cols}]`);
        const b = tensorBytes(file, p.scale).slice();
        scale = new Float32Array(b.buffer, 0, cols);
        if (scale.some((v) => !(v > 0) || !Number.isFinite(v))) fail(`${name}.scale must be positive and finite`);
      }
      const known = info[name]?.relativeErrors;
      const errors = Array.isArray(known) && known.length === count ? Float64Array.from(known, Number) : new Float64Array(count).fill(NaN);
      mats[name] = StackedMatrix.fromBlocks(rt, rows, cols, rank, data, errors, scale, Number(info[name]?.norm ?? NaN));
    }
    if (!Object.keys(mats).length) fail('no BitStack tensors (<name>.qweight_<i>, .u_<i>, .vt_<i>)');
    let order: StackOrder | undefined = opts.order;
    if (order === undefined && opts.compressionConfig !== undefined) order = orderFromCompressionConfig(opts.compressionConfig, mats);
    if (order === undefined && file.metadata.format === FORMAT && file.metadata.order) {
      try { order = JSON.parse(file.metadata.order); } catch { fail('metadata "order" is not JSON'); }
    }
    try {
      return stack(mats, order === undefined ? { levelByLevel: true } : { order });
    } catch (e) {
      if (e instanceof BitstackError && e.code === 'ARG' && opts.order === undefined) fail(`metadata order: ${e.message}`);
      throw e;
    }
  } catch (e) {
    for (const sm of Object.values(mats)) sm.free();
    throw e;
  }
}
