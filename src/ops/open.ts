// Progressive loading of a stack file: the header first, then the kept tensors and the blocks in
// stack order, in requests of bounded size, up to a budget. The stack is usable as soon as every
// matrix has its first blocks; later blocks join their matrix whole, one at a time, so a product
// always sees a consistent set of blocks.
//
// Sources: a URL (HTTP Range requests; a server that answers 200 is read as a stream up to the
// budget), a Response (its body, as a stream), a Blob/File, or a reader (offset, length) → bytes.

import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { StackedMatrix, type BlockData } from './bitstack.js';
import { planStack, blockDataOf, scaleOf, metadataOrder, isBlockTensor, stack as makeStack, type MatrixPlan, type Stack, type StackOrder } from './stack.js';
import { headerLength, parseHeader, type SafetensorsEntry, type SafetensorsDtype } from '../formats/safetensors.js';
import { intOption, options } from './validate.js';

/** Where a stack file comes from. */
export type StackSource = string | URL | Response | Blob | ((offset: number, length: number) => Promise<Uint8Array | ArrayBuffer | ArrayBufferView>);

/** Progress of openStack, after every request. */
export interface LoadProgress { bytes: number; blocks: number; totalBlocks: number }

/** Options of {@link openStack}. */
export interface OpenStackOptions {
  /** The model's size in memory, kept tensors + blocks (as `selectForBudget`): the strict prefix of the order that fits. Default: the whole file. */
  budget?: number;
  /** Blocks every matrix gets before the stack is returned (default 1); a budget below them is a BUDGET error. */
  minBlocks?: number;
  /** Stops loading: openStack rejects (or `loaded` does, later) with ABORTED; no block is half applied. */
  signal?: AbortSignal;
  /** Called after every request. */
  onProgress?: (p: LoadProgress) => void;
  /** Called when a block joins its matrix. */
  onBlock?: (name: string, block: number) => void;
  /** Largest request in bytes (default 1 MiB); a block larger than this is one request. */
  requestBytes?: number;
}

/** A tensor kept beside the blocks (embeddings, norms), as stored. */
export interface KeptTensor { dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }

/** A stack being loaded: its matrices grow block by block. */
export interface LiveStack {
  /** The matrices (an object without prototype); each has at least `minBlocks` blocks and grows while loading. */
  readonly matrices: Readonly<Record<string, StackedMatrix>>;
  /** The blocks that will be loaded, in order (the prefix of the file's order within the budget). */
  readonly order: ReadonlyArray<readonly [string, number]>;
  /** The tensors kept beside the blocks, by name (an object without prototype). */
  readonly tensors: Readonly<Record<string, KeptTensor>>;
  /** Resolves when every block of `order` has arrived (or rejects with the error that stopped loading). */
  readonly loaded: Promise<void>;
  /** Blocks of `name` loaded so far. */
  loadedBlocks(name: string): number;
  /** Bytes read from the source so far. */
  readonly bytesRead: number;
  /** A Stack of what is loaded now (its order: the loaded prefix). */
  snapshot(): Stack;
}

const fail = (message: string): never => {
  throw new BitstackError('FORMAT', `stack stream: ${message}`);
};

interface Reader { read(offset: number, length: number, upTo?: boolean): Promise<Uint8Array>; size?: number; exactOnly?: boolean; close?(): void }

function asBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new BitstackError('ARG', `${what} must give a Uint8Array, another ArrayBuffer view or an ArrayBuffer`);
}

/**
 * A body read front to back: reads must come in increasing order (stack files are laid out that
 * way). The bytes pulled from the stream past a read are kept until a later read starts beyond them
 * (the header's first read takes up to 64 KiB, some of which are the data that follows).
 */
function streamReader(body: ReadableStream<Uint8Array>): Reader {
  const reader = body.getReader();
  let buf = new Uint8Array(0);   // the stream's bytes [bufStart, bufStart + buf.length), not yet passed
  let bufStart = 0;
  let ended = false;
  const pull = async () => {
    const r = await reader.read();
    if (r.done) { ended = true; return; }
    const chunk = asBytes(r.value, 'the stream');
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    buf = joined;
  };
  return {
    close() { void reader.cancel().catch(() => {}); },
    async read(offset, length, upTo = false) {
      if (offset < bufStart) fail(`the stream is past byte ${offset} (at ${bufStart}): the file is not in stack order`);
      // Drop what lies before the read (pulling it from the stream if it has not come yet).
      while (bufStart + buf.length < offset && !ended) {
        bufStart += buf.length;
        buf = new Uint8Array(0);
        await pull();
      }
      const drop = Math.min(offset - bufStart, buf.length);
      buf = buf.subarray(drop);
      bufStart += drop;
      while (buf.length < length && !ended) await pull();
      if (buf.length < length && !upTo) fail(`the stream ended at byte ${bufStart + buf.length}, ${length - buf.length} bytes short`);
      return buf.slice(0, Math.min(length, buf.length));
    },
  };
}

/** HTTP Range requests; the first answer decides: 206 → ranges (checked), 200 → the body as a stream. */
function urlReader(url: string, signal: AbortSignal | undefined): Reader {
  let stream: Reader | null = null;
  let total: number | undefined;
  let etag: string | null | undefined;
  const self: Reader = {
    close() { stream?.close?.(); },
    async read(offset, length, upTo = false) {
      if (stream) return stream.read(offset, length, upTo);
      const res = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, signal });
      if (res.status === 200) {
        // The server ignores Range: read its body front to back (up to the budget, then cancel).
        stream = streamReader(res.body!);
        return stream.read(offset, length, upTo);
      }
      if (res.status === 416 && upTo && total === undefined) return new Uint8Array(0);
      if (res.status !== 206) fail(`HTTP ${res.status} for bytes ${offset}–${offset + length - 1} of ${url}`);
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== offset) fail(`bad Content-Range ${JSON.stringify(res.headers.get('content-range'))} for bytes ${offset}–${offset + length - 1}`);
      const size = range![3] === '*' ? undefined : Number(range![3]);
      if (total === undefined) total = size;
      else if (size !== undefined && size !== total) fail(`the file changed while loading (its size went from ${total} to ${size} bytes)`);
      const tag = res.headers.get('etag');
      if (etag === undefined) etag = tag;
      else if (tag !== etag) fail('the file changed while loading (its ETag changed)');
      const end = Number(range![2]);
      const want = upTo && total !== undefined ? Math.min(length, total - offset) : length;
      if (end !== offset + want - 1) fail(`the server sent bytes ${offset}–${end}, not ${offset}–${offset + want - 1}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length !== want) fail(`short read: ${bytes.length} of ${want} bytes at ${offset}`);
      self.size = total;
      return bytes;
    },
  };
  return self;
}

function makeReader(source: StackSource, signal: AbortSignal | undefined): Reader {
  if (typeof source === 'function') {
    return {
      exactOnly: true,
      async read(offset, length) {
        const bytes = asBytes(await source(offset, length), 'the reader');
        if (bytes.length !== length) fail(`the reader gave ${bytes.length} bytes at ${offset}, ${length} asked`);
        return bytes;
      },
    };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return {
      size: source.size,
      async read(offset, length, upTo = false) {
        const end = upTo ? Math.min(source.size, offset + length) : offset + length;
        if (end > source.size) fail(`the file ends at ${source.size}, byte ${offset + length} asked`);
        return new Uint8Array(await source.slice(offset, end).arrayBuffer());
      },
    };
  }
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok || !source.body) fail(`HTTP ${source.status}`);
    return streamReader(source.body!);
  }
  if (typeof source === 'string' || (typeof URL !== 'undefined' && source instanceof URL)) return urlReader(String(source), signal);
  throw new BitstackError('ARG', 'source must be a URL, a Response, a Blob or a reader (offset, length) => bytes');
}

/** Loads a stack file progressively: resolves when every matrix has `minBlocks` blocks. */
export async function openStack(rt: Runtime, source: StackSource, opts: OpenStackOptions = {}): Promise<LiveStack> {
  opts = options('opts', opts);
  const minBlocks = intOption('opts.minBlocks', opts.minBlocks, 1, 1, 1 << 20);
  const requestBytes = intOption('opts.requestBytes', opts.requestBytes, 1 << 20, 64, 2 ** 31);
  const signal = opts.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) throw new BitstackError('ARG', 'opts.signal must be an AbortSignal');
  if (opts.budget !== undefined && !(typeof opts.budget === 'number' && opts.budget >= 0)) throw new BitstackError('ARG', `opts.budget must be a non-negative number of bytes, got ${String(opts.budget)}`);
  for (const f of ['onProgress', 'onBlock'] as const) if (opts[f] !== undefined && typeof opts[f] !== 'function') throw new BitstackError('ARG', `opts.${f} must be a function`);
  const checkAbort = () => {
    if (signal?.aborted) throw new BitstackError('ABORTED', 'openStack was aborted', { cause: signal.reason });
  };
  const reader = makeReader(source, signal);
  let bytesRead = 0;
  // The header's first read (up to 64 KiB) often holds the kept tensors and the first blocks too:
  // reads inside it are served from it, never fetched twice.
  let head0: Uint8Array = new Uint8Array(0);
  const read = async (offset: number, length: number, upTo = false): Promise<Uint8Array> => {
    if (offset < head0.length) {
      const have = head0.subarray(offset, offset + length);
      if (have.length === length) return have.slice();
      const rest = await read(head0.length, length - have.length, upTo);
      const out = new Uint8Array(have.length + rest.length);
      out.set(have);
      out.set(rest, have.length);
      return out;
    }
    checkAbort();
    let b: Uint8Array;
    try {
      b = await reader.read(offset, length, upTo);
    } catch (e) {
      checkAbort();
      if (e instanceof BitstackError) throw e;
      throw new BitstackError('FORMAT', `stack stream: reading bytes ${offset}–${offset + length - 1} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    bytesRead += b.length;
    return b;
  };

  // The header: one request of up to 64 KiB, a second when the header is longer (a reader of
  // unknown size: 8 bytes, then the header).
  const first = await read(0, reader.exactOnly ? 8 : 1 << 16, true);
  head0 = first;
  const n = headerLength(first.subarray(0, 8), reader.size ?? Number.MAX_SAFE_INTEGER);
  let head: Uint8Array;
  if (8 + n <= first.length) head = first.subarray(8, 8 + n);
  else {
    head = new Uint8Array(n);
    head.set(first.subarray(8));
    head.set(await read(first.length, 8 + n - first.length), first.length - 8);
  }
  const dataStart = 8 + n;
  const { metadata, tensors } = parseHeader(head, reader.size !== undefined ? reader.size - dataStart : Number.MAX_SAFE_INTEGER);
  const { plans, keptBytes } = planStack(tensors, metadata);
  const fileOrder: StackOrder = metadataOrder(metadata) ?? fail('the file has no stack order in its metadata (write it with toSafetensors)');
  const blockSpan = (plan: MatrixPlan, i: number) => {
    const parts = Object.values(plan.blocks[i].parts) as SafetensorsEntry[];
    return { begin: Math.min(...parts.map((e) => e.begin)), end: Math.max(...parts.map((e) => e.end)) };
  };
  // Validate the order against the plans, and the layout: every entry's parts in one span, spans in order.
  const next = new Map<string, number>([...plans.keys()].map((k) => [k, 0]));
  const spans = fileOrder.map((e) => {
    if (!Array.isArray(e) || e.length !== 2) fail('metadata order holds a malformed entry');
    const [name, i] = e;
    const plan = plans.get(name) ?? fail(`metadata order names ${JSON.stringify(name)}, which the file does not hold`);
    if (next.get(name) !== i || i >= plan.blocks.length) fail(`metadata order has ${name} block ${i} out of sequence`);
    next.set(name, i + 1);
    return { name, i, ...blockSpan(plan, i) };
  });
  // Before the blocks: the kept tensors and the matrices' scales (toSafetensors writes them first).
  const blockPart = (name: string) => /\.(qweight|u_scale|vt_scale|u|vt)_\d+$/.test(name) && isBlockTensor(name, plans);
  const kept = tensors.filter((t) => !isBlockTensor(t.name, plans));
  const keptEnd = Math.max(0, ...tensors.filter((t) => !blockPart(t.name)).map((t) => t.end));
  // The plan: the strict prefix of the order within the budget; every matrix needs minBlocks first.
  const budget = opts.budget ?? Infinity;
  const have = new Map<string, number>([...plans.keys()].map((k) => [k, 0]));
  let planned = 0, bytes = keptBytes;
  const missing = () => [...plans.keys()].some((k) => have.get(k)! < Math.min(minBlocks, plans.get(k)!.blocks.length));
  while (planned < spans.length) {
    const s = spans[planned];
    const size = s.end - s.begin;
    if (bytes + size > budget) {
      if (missing()) throw new BitstackError('BUDGET', `budget of ${budget} bytes is below the ${minBlocks} block${minBlocks === 1 ? '' : 's'} of every matrix this file's order reaches first (${bytes + size} bytes at least)`);
      break;
    }
    bytes += size;
    have.set(s.name, have.get(s.name)! + 1);
    planned++;
  }
  if (missing()) fail(`the file's order does not give every matrix ${minBlocks} block(s)`);
  for (let j = 1; j < planned; j++) if (spans[j].begin < spans[j - 1].end || spans[0].begin < keptEnd) fail('the file is not laid out in stack order');

  // Kept tensors first (they precede the blocks), then the blocks, in requests of at most requestBytes.
  const tensorsOut = Object.create(null) as Record<string, KeptTensor>;
  const keptData = new Uint8Array(keptEnd);
  for (let at = 0; at < keptEnd; at += requestBytes) keptData.set(await read(dataStart + at, Math.min(requestBytes, keptEnd - at)), at);
  for (const t of kept) tensorsOut[t.name] = { dtype: t.dtype, shape: t.shape.slice(), bytes: keptData.slice(t.begin, t.end) };
  const scales = new Map<string, Float32Array | null>([...plans].map(([k, p]) => [k, scaleOf(p, (e) => keptData.subarray(e.begin, e.end))]));

  const mats = Object.create(null) as Record<string, StackedMatrix>;
  const pendingData = new Map<string, BlockData[]>([...plans.keys()].map((k) => [k, []]));
  let loadedCount = 0;
  const apply = (name: string, d: BlockData) => {
    const sm = mats[name];
    if (sm) sm.appendBlock(d); else pendingData.get(name)!.push(d);
    loadedCount++;
    opts.onBlock?.(name, sm ? sm.blockCount : pendingData.get(name)!.length);
  };
  const materialize = () => {
    for (const [name, plan] of plans) {
      mats[name] = StackedMatrix.fromBlocks(rt, plan.rows, plan.cols, plan.factors, pendingData.get(name)!, plan.errors, scales.get(name)!, plan.norm);
    }
  };
  let cursor = 0;
  const loadNext = async (): Promise<boolean> => {
    if (cursor >= planned) return false;
    // One request: consecutive blocks up to requestBytes (at least one).
    let last = cursor;
    while (last + 1 < planned && spans[last + 1].end - spans[cursor].begin <= requestBytes) last++;
    const from = spans[cursor].begin, to = spans[last].end;
    const chunk = await read(dataStart + from, to - from);
    for (let j = cursor; j <= last; j++) {
      const s = spans[j];
      apply(s.name, blockDataOf(plans.get(s.name)!, s.i, (e) => chunk.subarray(e.begin - from, e.end - from)));
    }
    cursor = last + 1;
    opts.onProgress?.({ bytes: bytesRead, blocks: loadedCount, totalBlocks: planned });
    return true;
  };
  const ready = () => [...plans].every(([k, p]) => (mats[k] ? mats[k].blockCount : pendingData.get(k)!.length) >= Math.min(minBlocks, p.blocks.length));
  try {
    while (!ready() && await loadNext());
    checkAbort();
    materialize();
  } catch (e) {
    for (const sm of Object.values(mats)) sm.free();
    reader.close?.();
    throw e;
  }
  const order = Object.freeze(spans.slice(0, planned).map((s) => Object.freeze([s.name, s.i] as const)));
  const loaded = (async () => {
    try {
      while (await loadNext()) { /* one request at a time, in order */ }
    } finally {
      reader.close?.(); // a server that ignored Range: stop its body at the budget
    }
  })();
  loaded.catch(() => {}); // the caller may not listen: an error stays in `loaded`
  return {
    matrices: mats,
    order,
    tensors: tensorsOut,
    loaded,
    loadedBlocks: (name: string) => (Object.prototype.hasOwnProperty.call(mats, name) ? mats[name].blockCount : 0),
    get bytesRead() { return bytesRead; },
    snapshot: () => {
      const counts = new Map<string, number>();
      const prefix: StackOrder = [];
      for (const [name, i] of order) {
        if (i < mats[name].blockCount && (counts.get(name) ?? 0) === i) { prefix.push([name, i]); counts.set(name, i + 1); }
      }
      return makeStack(mats, { order: prefix, keptBytes });
    },
  };
}
