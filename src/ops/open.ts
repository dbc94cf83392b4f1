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
import { cacheStorageStore, fnv1a64, parseMeta, type CacheMeta, type StackCache, type StackCacheStore } from './cache.js';

/** Where a stack file comes from. */
export type StackSource = string | URL | Response | Blob | ((offset: number, length: number) => Promise<Uint8Array | ArrayBuffer | ArrayBufferView>);

/** Progress of openStack, after every request. */
export interface LoadProgress {
  /** Bytes loaded so far (fetched + from the cache). */
  bytes: number;
  /** Blocks applied so far, of `totalBlocks` planned. */
  blocks: number;
  totalBlocks: number;
  /** Bytes the budget will load in all: header, kept tensors, planned blocks. */
  bytesPlanned: number;
  /** Of `bytes`, those served by the cache. */
  fromCache: number;
}

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
  /**
   * Keeps fetched ranges: a Cache Storage name (browsers, Deno, workerd), a directory (Node) or a store
   * `{ get, put, delete }`. A second open serves what is cached and fetches the rest (it resumes); the
   * header is always asked for first — a file whose size, ETag or header changed is discarded from the
   * cache — and when that request fails (offline) the cached copy is used.
   */
  cache?: StackCache;
  /** Names the file in the cache (default: the URL; required for a Blob or a reader). */
  cacheKey?: string;
}

/** A tensor kept beside the blocks (embeddings, norms), as stored. */
export interface KeptTensor { dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }

/** A stack being loaded: its matrices grow block by block. */
export interface LiveStack {
  /** The matrices (an object without prototype): filled when `ready` resolves, each with at least `minBlocks` blocks, then growing while loading. */
  readonly matrices: Readonly<Record<string, StackedMatrix>>;
  /** The blocks that will be loaded, in order (the prefix of the file's order within the budget). */
  readonly order: ReadonlyArray<readonly [string, number]>;
  /** The tensors kept beside the blocks, by name (an object without prototype). */
  readonly tensors: Readonly<Record<string, KeptTensor>>;
  /** Resolves when every matrix has `minBlocks` blocks: `matrices` is empty before. */
  readonly ready: Promise<void>;
  /** Resolves when every block of `order` has arrived (or rejects with the error that stopped loading). */
  readonly loaded: Promise<void>;
  /** Bytes the budget loads in all: header, kept tensors and the blocks of `order`. */
  readonly bytesPlanned: number;
  /** Bytes served by the cache so far. */
  readonly bytesFromCache: number;
  /**
   * True when the header request failed and the cached copy was opened instead: the source is
   * unreachable (offline — also where `navigator.onLine` still says online: a captive portal, a dead link).
   */
  readonly offline: boolean;
  /** Blocks of `name` loaded so far. */
  loadedBlocks(name: string): number;
  /** Bytes read from the source (the network) so far. */
  readonly bytesRead: number;
  /** A Stack of what is loaded now (its order: the loaded prefix). */
  snapshot(): Stack;
}

const fail = (message: string): never => {
  throw new BitstackError('FORMAT', `stack stream: ${message}`);
};

interface Reader { read(offset: number, length: number, upTo?: boolean): Promise<Uint8Array>; size?: number; etag?: string | null; exactOnly?: boolean; close?(): void }

function asBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array && v.constructor === Uint8Array) return v;
  // (A Node Buffer too: its slice() shares memory, a plain view's copies.)
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
      self.etag = etag;
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


const concat = (parts: Uint8Array[]): Uint8Array => {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

/**
 * The fetched ranges of one file in a store: `read` serves what the store has and fetches the gaps
 * (storing them); the header is checked against the store's copy (size, ETag, header hash) and a
 * changed file's entries are discarded. A store that fails to write stops caching, not loading.
 */
class RangeCache {
  ranges: Array<[number, number]> = [];
  meta: CacheMeta | null = null;
  broken = false;
  constructor(readonly store: StackCacheStore, readonly source: string, readonly prefix: string) {}

  static async open(store: StackCacheStore, source: string): Promise<RangeCache> {
    const c = new RangeCache(store, source, fnv1a64(new TextEncoder().encode(source)));
    c.meta = parseMeta(await store.get(`${c.prefix}/meta`).catch(() => undefined), source);
    c.ranges = c.meta ? c.meta.ranges.map((r) => [r[0], r[1]] as [number, number]) : [];
    return c;
  }

  key(r: readonly [number, number]) { return `${this.prefix}/${r[0]}-${r[1]}`; }

  /** Drops every entry (a changed file), then remembers the new file's identity. */
  async reset(size: number | null, etag: string | null, header: string) {
    const old = this.ranges;
    this.ranges = [];
    this.meta = { version: 1, source: this.source, size, etag, header, ranges: this.ranges };
    try {
      await this.store.put(`${this.prefix}/meta`, new TextEncoder().encode(JSON.stringify(this.meta)));
      for (const r of old) await this.store.delete(this.key(r));
    } catch {
      this.broken = true;
    }
  }

  async remember(offset: number, bytes: Uint8Array) {
    if (this.broken || !this.meta || bytes.length === 0) return;
    const r: [number, number] = [offset, bytes.length];
    try {
      await this.store.put(this.key(r), bytes);   // the data first: the meta never lists what is not there
      this.ranges.push(r);
      this.meta.ranges = this.ranges;
      await this.store.put(`${this.prefix}/meta`, new TextEncoder().encode(JSON.stringify(this.meta)));
    } catch {
      this.broken = true; // e.g. over quota: go on loading without caching
    }
  }

  /** Bytes [offset, offset + length) from the store where it has them, else from `fetch` (then stored). */
  async read(offset: number, length: number, upTo: boolean, fetch: (o: number, l: number, upTo: boolean) => Promise<Uint8Array>, hit: (n: number) => void): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    const end = offset + length;
    let at = offset;
    while (at < end) {
      const c = this.ranges.find((r) => r[0] <= at && at < r[0] + r[1]);
      if (c) {
        const bytes = await this.store.get(this.key(c)).catch(() => undefined);
        if (!bytes || bytes.length !== c[1]) { this.ranges = this.ranges.filter((r) => r !== c); continue; } // evicted: fetch it again
        const take = bytes.subarray(at - c[0], Math.min(c[0] + c[1], end) - c[0]);
        parts.push(take);
        hit(take.length);
        at += take.length;
        continue;
      }
      const next = Math.min(end, ...this.ranges.filter((r) => r[0] > at).map((r) => r[0]));
      const got = await fetch(at, next - at, upTo && next === end);
      await this.remember(at, got);
      parts.push(got);
      at += got.length;
      if (got.length < next - (at - got.length)) break; // the file ended (upTo)
    }
    return concat(parts);
  }
}

/** Loads a stack file progressively; resolves once its header is read, `ready` when every matrix has `minBlocks` blocks. */
export async function openStack(rt: Runtime, source: StackSource, opts: OpenStackOptions = {}, cacheFor?: (name: string) => StackCacheStore): Promise<LiveStack> {
  opts = options('opts', opts);
  const minBlocks = intOption('opts.minBlocks', opts.minBlocks, 1, 1, 1 << 20);
  const requestBytes = intOption('opts.requestBytes', opts.requestBytes, 1 << 20, 64, 2 ** 31);
  const signal = opts.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) throw new BitstackError('ARG', 'opts.signal must be an AbortSignal');
  if (opts.budget !== undefined && !(typeof opts.budget === 'number' && opts.budget >= 0)) throw new BitstackError('ARG', `opts.budget must be a non-negative number of bytes, got ${String(opts.budget)}`);
  for (const f of ['onProgress', 'onBlock'] as const) if (opts[f] !== undefined && typeof opts[f] !== 'function') throw new BitstackError('ARG', `opts.${f} must be a function`);
  // The cache: a name (Cache Storage, or a directory in Node) or a store; keyed by the URL or opts.cacheKey.
  let store: StackCacheStore | undefined;
  if (opts.cache !== undefined) {
    const c = opts.cache as unknown;
    if (typeof c === 'string' && c.length > 0) store = cacheFor ? cacheFor(c) : cacheStorageStore(c);
    else if (c !== null && typeof c === 'object' && ['get', 'put', 'delete'].every((f) => typeof (c as Record<string, unknown>)[f] === 'function')) store = c as StackCacheStore;
    else throw new BitstackError('ARG', 'opts.cache must be a cache name or a store { get, put, delete }');
  }
  if (opts.cacheKey !== undefined && (typeof opts.cacheKey !== 'string' || opts.cacheKey.length === 0)) throw new BitstackError('ARG', 'opts.cacheKey must be a non-empty string');
  const cacheKey = opts.cacheKey
    ?? (typeof source === 'string' || (typeof URL !== 'undefined' && source instanceof URL) ? String(source)
      : typeof Response !== 'undefined' && source instanceof Response && source.url ? source.url : undefined);
  if (store && cacheKey === undefined) throw new BitstackError('ARG', 'opts.cache needs opts.cacheKey for a Blob, a reader or a Response without a URL');
  const checkAbort = () => {
    if (signal?.aborted) throw new BitstackError('ABORTED', 'openStack was aborted', { cause: signal.reason });
  };
  const reader = makeReader(source, signal);
  const cache = store ? await RangeCache.open(store, cacheKey!) : null;
  let bytesRead = 0, bytesFromCache = 0;
  const net = async (offset: number, length: number, upTo = false): Promise<Uint8Array> => {
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
  const cached = (offset: number, length: number, upTo = false) => cache!.read(offset, length, upTo, net, (n) => { bytesFromCache += n; });
  // The header's first read (up to 64 KiB) often holds the kept tensors and the first blocks too:
  // reads inside it are served from it, never fetched twice.
  let head0: Uint8Array = new Uint8Array(0);
  const read = async (offset: number, length: number, upTo = false): Promise<Uint8Array> => {
    if (offset < head0.length) {
      const have = head0.subarray(offset, offset + length);
      if (have.length === length) return have.slice();
      const rest = await read(head0.length, length - have.length, upTo);
      return concat([have.slice(), rest]);
    }
    return cache ? cached(offset, length, upTo) : net(offset, length, upTo);
  };

  // The header: one request of up to 64 KiB, a second when the header is longer (a reader of
  // unknown size: 8 bytes, then the header). With a cache the first request still goes out (it
  // tells whether the file changed); when it fails (offline), the cached copy is used.
  const firstLength = reader.exactOnly ? 8 : 1 << 16;
  let first: Uint8Array;
  let fromNet = true;
  try {
    first = await net(0, firstLength, true);
  } catch (e) {
    if (!cache?.meta || (e as BitstackError).code === 'ABORTED') throw e;
    first = await cached(0, Math.min(firstLength, cache.meta.size ?? firstLength), true).catch(() => { throw e; });
    fromNet = false;
  }
  head0 = first;
  const size = reader.size ?? (fromNet ? undefined : cache!.meta!.size ?? undefined);
  const n = headerLength(first.subarray(0, 8), size ?? Number.MAX_SAFE_INTEGER);
  let head: Uint8Array;
  let headRest: Uint8Array | null = null; // the header's bytes past the first read
  if (8 + n <= first.length) head = first.subarray(8, 8 + n);
  else {
    head = new Uint8Array(n);
    head.set(first.subarray(8));
    // From where the first part came: a fresh header is never completed from an older cached copy.
    headRest = fromNet ? await net(first.length, 8 + n - first.length) : await read(first.length, 8 + n - first.length);
    head.set(headRest, first.length - 8);
  }
  if (cache) {
    const headerHash = fnv1a64(concat([first.subarray(0, 8), head]));
    const m = cache.meta;
    const same = m && m.header === headerHash && (!fromNet || ((m.size ?? undefined) === reader.size && (m.etag ?? null) === (reader.etag ?? null)));
    if (!same) await cache.reset(reader.size ?? null, reader.etag ?? null, headerHash);
    if (fromNet) {
      const has = (o: number, l: number) => cache.ranges.some((r) => r[0] <= o && o + l <= r[0] + r[1]);
      if (!has(0, first.length)) await cache.remember(0, first);
      if (headRest && !has(first.length, headRest.length)) await cache.remember(first.length, headRest);
    }
  }
  const dataStart = 8 + n;
  const { metadata, tensors } = parseHeader(head, size !== undefined ? size - dataStart : Number.MAX_SAFE_INTEGER);
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
    const span = s.end - s.begin;
    if (bytes + span > budget) {
      if (missing()) throw new BitstackError('BUDGET', `budget of ${budget} bytes is below the ${minBlocks} block${minBlocks === 1 ? '' : 's'} of every matrix this file's order reaches first (${bytes + span} bytes at least)`);
      break;
    }
    bytes += span;
    have.set(s.name, have.get(s.name)! + 1);
    planned++;
  }
  if (missing()) fail(`the file's order does not give every matrix ${minBlocks} block(s)`);
  for (let j = 1; j < planned; j++) if (spans[j].begin < spans[j - 1].end || spans[0].begin < keptEnd) fail('the file is not laid out in stack order');
  const plannedBytes = bytes;

  const tensorsOut = Object.create(null) as Record<string, KeptTensor>;
  const mats = Object.create(null) as Record<string, StackedMatrix>;
  const pendingData = new Map<string, BlockData[]>([...plans.keys()].map((k) => [k, []]));
  let scales: Map<string, Float32Array | null>;
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
  const progress = () => opts.onProgress?.({ bytes: bytesRead + bytesFromCache, blocks: loadedCount, totalBlocks: planned, bytesPlanned: dataStart + plannedBytes, fromCache: bytesFromCache });
  let cursor = 0;
  const loadNext = async (): Promise<boolean> => {
    if (cursor >= planned) return false;
    // One request: consecutive blocks up to requestBytes (at least one).
    let last = cursor;
    while (last + 1 < planned && spans[last + 1].end - spans[cursor].begin <= requestBytes) last++;
    const from = spans[cursor].begin, to = spans[last].end;
    const chunk = await read(dataStart + from, to - from);
    checkAbort();
    for (let j = cursor; j <= last; j++) {
      const s = spans[j];
      apply(s.name, blockDataOf(plans.get(s.name)!, s.i, (e) => chunk.subarray(e.begin - from, e.end - from)));
    }
    cursor = last + 1;
    progress();
    return true;
  };
  const isReady = () => [...plans].every(([k, p]) => (mats[k] ? mats[k].blockCount : pendingData.get(k)!.length) >= Math.min(minBlocks, p.blocks.length));
  let materialized = false;
  // Kept tensors first (they precede the blocks), then the blocks, in requests of at most requestBytes.
  const ready = (async () => {
    try {
      const keptData = new Uint8Array(keptEnd);
      for (let at = 0; at < keptEnd; at += requestBytes) keptData.set(await read(dataStart + at, Math.min(requestBytes, keptEnd - at)), at);
      for (const t of kept) tensorsOut[t.name] = { dtype: t.dtype, shape: t.shape.slice(), bytes: keptData.slice(t.begin, t.end) };
      scales = new Map([...plans].map(([k, p]) => [k, scaleOf(p, (e) => keptData.subarray(e.begin, e.end))]));
      progress();
      while (!isReady() && await loadNext());
      checkAbort();
      materialize();
      materialized = true;
    } catch (e) {
      for (const sm of Object.values(mats)) sm.free();
      for (const k of Object.keys(mats)) delete mats[k];
      reader.close?.();
      throw e;
    }
  })();
  const loaded = (async () => {
    await ready;
    try {
      while (await loadNext()) { /* one request at a time, in order */ }
    } finally {
      reader.close?.(); // a server that ignored Range: stop its body at the budget
    }
  })();
  ready.catch(() => {}); // the caller may not listen: an error stays in `ready` and `loaded`
  loaded.catch(() => {});
  const order = Object.freeze(spans.slice(0, planned).map((s) => Object.freeze([s.name, s.i] as const)));
  return {
    matrices: mats,
    order,
    tensors: tensorsOut,
    ready,
    loaded,
    bytesPlanned: dataStart + plannedBytes,
    offline: !fromNet,
    loadedBlocks: (name: string) => (Object.prototype.hasOwnProperty.call(mats, name) ? mats[name].blockCount : 0),
    get bytesRead() { return bytesRead; },
    get bytesFromCache() { return bytesFromCache; },
    snapshot(): Stack {
      if (!materialized) throw new BitstackError('ARG', 'the stack is not ready yet: await stack.ready');
      const counts = new Map<string, number>();
      const prefix: StackOrder = [];
      for (const [name, i] of order) {
        if (i < mats[name].blockCount && (counts.get(name) ?? 0) === i) { prefix.push([name, i]); counts.set(name, i + 1); }
      }
      return makeStack(mats, { order: prefix, keptBytes });
    },
  };
}
