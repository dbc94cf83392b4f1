// Many matrices decomposed on a pool of workers (Node worker_threads, Web Workers in browsers and
// Deno), one wasm instance each, made from the caller's own compiled module, so every block is the
// bytes `decompose` gives in the caller's instance. Matrices go out largest first to whichever worker
// is free; results come back as plain data (StackedMatrix.export) and are restored in the caller's
// instance. Hosts without workers (workerd, JavaScriptCore's shell) decompose in the calling thread,
// yielding between blocks.

import type { Runtime } from '../runtime.js';
import { BitstackError, type BitstackErrorCode } from '../errors.js';
import { decomposeAsync, restore, type DecomposeOptions, type StackedMatrix, type StackedMatrixData } from './bitstack.js';
import { dim, intOption, options } from './validate.js';
import { hostThreads } from '../threads.js';

/** Progress of decomposeMany, after every block of every matrix. */
export interface DecomposeManyProgress {
  matrix: string;
  block: number;
  blocks: number;
  /** Matrices finished, of `matrices`. */
  done: number;
  matrices: number;
  /** Which worker (0…jobs-1) made the block; null in the calling thread. */
  worker: number | null;
}

/** Options of decomposeMany: decompose's (for every matrix; a matrix's own, given beside it, win) and the pool's. */
export interface DecomposeManyOptions extends Omit<DecomposeOptions, 'onProgress' | 'name' | 'scale'> {
  /** Workers (default: the host's cores, at most one per matrix); 1, or a host without workers: the calling thread. */
  jobs?: number;
  /** Per-input-column activation scales, by matrix name (see decompose's `scale`). */
  scales?: Record<string, Float32Array>;
  /** Stops the work: the pool ends, nothing is returned, `ABORTED`. */
  signal?: AbortSignal;
  onProgress?: (p: DecomposeManyProgress) => void;
}

/** @internal A worker as the pool sees it (the entries adapt Node's worker_threads and Web Workers). */
export interface WorkerHandle {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(onMessage: (message: WorkerReply) => void, onError: (error: unknown) => void): void;
  terminate(): void;
}
/** @internal */
export type SpawnWorker = () => WorkerHandle;

/** @internal What the pool sends: first the module, then tasks. */
export type WorkerRequest =
  | { type: 'init'; module: WebAssembly.Module; relaxed: boolean }
  | { type: 'task'; id: number; w: Float32Array; m: number; n: number; opts: DecomposeOptions };
/** @internal What a worker answers. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'progress'; id: number; block: number; blocks: number }
  | { type: 'done'; id: number; data: StackedMatrixData }
  | { type: 'error'; id: number; code: BitstackErrorCode; message: string };


/** A matrix for decomposeMany: its values, shape, and options of its own (over the common ones). */
export type ManyEntry = readonly [Float32Array, number, number] | readonly [Float32Array, number, number, Omit<DecomposeOptions, 'onProgress' | 'name'>];

/** @internal Decomposes every matrix `{ name: [w, m, n, opts?] }` (the method is Bitstack.decomposeMany); the result has the same names (an object without prototype). */
export async function decomposeMany(
  rt: Runtime, module: WebAssembly.Module | undefined, matrices: Record<string, ManyEntry>,
  opts: DecomposeManyOptions = {}, spawn?: SpawnWorker, cores: () => number = hostThreads,
): Promise<Record<string, StackedMatrix>> {
  opts = options('opts', opts);
  if (matrices === null || typeof matrices !== 'object' || Array.isArray(matrices)) throw new BitstackError('ARG', 'matrices must be an object { name: [w, m, n] }');
  const names = Object.keys(matrices);
  if (!names.length) throw new BitstackError('EMPTY', 'matrices holds no matrix');
  const tasks = names.map((name, id) => {
    const entry = matrices[name];
    if (!Array.isArray(entry) || (entry.length !== 3 && entry.length !== 4)) throw new BitstackError('ARG', `matrices[${JSON.stringify(name)}] must be [w, m, n] or [w, m, n, opts]`);
    const [w, m0, n0, own] = entry as [Float32Array, number, number, Omit<DecomposeOptions, 'onProgress' | 'name'>?];
    if (own !== undefined && (own === null || typeof own !== 'object' || typeof (own as DecomposeOptions).onProgress === 'function')) throw new BitstackError('ARG', `matrices[${JSON.stringify(name)}][3] must be decompose's options (without onProgress)`);
    const m = dim(`${name}: m`, m0), n = dim(`${name}: n`, n0);
    if (!(w instanceof Float32Array)) throw new BitstackError('ARG', `matrices[${JSON.stringify(name)}][0] must be a Float32Array`);
    if (w.length !== m * n) throw new BitstackError('SHAPE', `${name}: ${w.length} values for ${m}×${n}`);
    return { id, name, w, m, n, own };
  });
  const { jobs: jobsOpt, scales, signal, onProgress, ...common } = opts;
  const jobs = Math.min(intOption('opts.jobs', jobsOpt, cores(), 1, 1024), tasks.length);
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) throw new BitstackError('ARG', 'opts.signal must be an AbortSignal');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new BitstackError('ARG', 'opts.onProgress must be a function');
  if (scales !== undefined && (scales === null || typeof scales !== 'object')) throw new BitstackError('ARG', 'opts.scales must be an object { name: Float32Array }');
  const scaleOf = (name: string) => (scales && Object.prototype.hasOwnProperty.call(scales, name) ? scales[name] : undefined);
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const optsFor = (name: string): DecomposeOptions => ({ ...common, scale: scaleOf(name), ...byName.get(name)!.own, name });
  const out = Object.create(null) as Record<string, StackedMatrix>;
  let done = 0;
  const checkAbort = () => {
    if (signal?.aborted) throw new BitstackError('ABORTED', 'decomposeMany was aborted', { cause: signal.reason });
  };
  const freeAll = () => { for (const sm of Object.values(out)) sm.free(); };

  const inThisThread = async () => {
    try {
      for (const t of tasks) {
        checkAbort();
        out[t.name] = await decomposeAsync(rt, t.w, t.m, t.n, {
          ...optsFor(t.name), signal,
          onProgress: (p) => onProgress?.({ matrix: t.name, block: p.block, blocks: p.blocks, done, matrices: tasks.length, worker: null }),
        });
        done++;
      }
    } catch (e) {
      freeAll();
      throw e;
    }
    return out;
  };
  if (jobs <= 1 || !spawn || !module) return inThisThread();

  // The pool: every worker gets the caller's module, then one matrix at a time, largest first. A worker
  // that cannot start (no worker file next to a bundle, a Content-Security-Policy) leaves its share to
  // the others; when none starts, the calling thread does the work.
  checkAbort();
  const queue = tasks.slice().sort((a, b) => b.m * b.n - a.m * a.n || a.id - b.id);
  const relaxed = rt.exports.build_relaxed() === 1;
  const workers: WorkerHandle[] = [];
  const results = new Map<number, StackedMatrixData>();
  let failure: unknown;
  const pending: Array<(e: unknown) => void> = []; // each worker's reject: a stop ends them all
  const stopAll = () => { for (const w of workers) w.terminate(); for (const r of pending) r(failure); };
  const onAbort = () => { failure ??= new BitstackError('ABORTED', 'decomposeMany was aborted', { cause: signal!.reason }); stopAll(); };
  signal?.addEventListener('abort', onAbort);
  let started = 0;
  try {
    await Promise.all(Array.from({ length: jobs }, (_, index) => new Promise<void>((resolve, reject) => {
      pending.push(reject);
      let w: WorkerHandle;
      try {
        w = spawn();
      } catch {
        resolve(); // this worker is not available
        return;
      }
      workers.push(w);
      let ready = false;
      // Before it is ready a failing worker is unavailable; after, its failure is the call's.
      const fail = (e: unknown) => {
        if (!ready) { w.terminate(); resolve(); return; }
        failure ??= e;
        stopAll();
      };
      const next = () => {
        if (failure) { reject(failure); return; }
        const item = queue.shift();
        if (!item) { w.terminate(); resolve(); return; }
        // The input is copied to the worker (the caller keeps its array).
        w.post({ type: 'task', id: item.id, w: item.w, m: item.m, n: item.n, opts: optsFor(item.name) } satisfies WorkerRequest);
      };
      w.listen((msg) => {
        if (msg.type === 'ready') { ready = true; started++; next(); }
        else if (msg.type === 'progress') onProgress?.({ matrix: tasks[msg.id].name, block: msg.block, blocks: msg.blocks, done, matrices: tasks.length, worker: index });
        else if (msg.type === 'done') { results.set(msg.id, msg.data); done++; next(); }
        else if (msg.type === 'error') fail(new BitstackError(msg.code ?? 'WASM', msg.id >= 0 ? `${tasks[msg.id].name}: ${msg.message}` : `a worker could not start: ${msg.message}`));
      }, (e) => fail(e instanceof BitstackError ? e : new BitstackError('WASM', `a decomposition worker failed: ${(e as Error)?.message ?? String(e)}`, { cause: e })));
      w.post({ type: 'init', module, relaxed } satisfies WorkerRequest);
    })));
  } catch (e) {
    stopAll();
    throw failure ?? e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  checkAbort();
  if (started === 0) return inThisThread(); // no worker could start here
  try {
    for (const t of tasks) out[t.name] = restore(rt, results.get(t.id)!);
  } catch (e) {
    freeAll();
    throw e;
  }
  return out;
}

/**
 * @internal The worker's side: `init` makes an instance from the posted module; each task is
 * decomposed and sent back as plain data, its buffers transferred.
 */
export function serveDecompositions(
  post: (message: WorkerReply, transfer?: ArrayBuffer[]) => void,
  init: (o: { wasm: WebAssembly.Module; relaxed: boolean }) => Promise<{ decompose(w: Float32Array, m: number, n: number, opts?: DecomposeOptions): StackedMatrix }>,
): (request: WorkerRequest) => void {
  let bw: Promise<{ decompose(w: Float32Array, m: number, n: number, opts?: DecomposeOptions): StackedMatrix }> | undefined;
  return (req) => {
    if (req.type === 'init') {
      bw = init({ wasm: req.module, relaxed: req.relaxed });
      bw.then(() => post({ type: 'ready' }), (e) => post({ type: 'error', id: -1, code: e?.code ?? 'WASM', message: String(e?.message ?? e) }));
      return;
    }
    void bw!.then((lib) => {
      try {
        const sm = lib.decompose(req.w, req.m, req.n, { ...req.opts, onProgress: (p) => post({ type: 'progress', id: req.id, block: p.block, blocks: p.blocks }) });
        const data = sm.export();
        sm.free();
        const buffers = data.blocks.flatMap((b) => [b.signs.buffer, b.a.buffer, b.b.buffer, ...(b.aScale ? [b.aScale.buffer, b.bScale!.buffer] : [])]);
        post({ type: 'done', id: req.id, data }, buffers as ArrayBuffer[]);
      } catch (e) {
        post({ type: 'error', id: req.id, code: e instanceof BitstackError ? e.code : 'WASM', message: (e as Error)?.message ?? String(e) });
      }
    });
  };
}
