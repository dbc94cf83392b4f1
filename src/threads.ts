// The threads build's worker pool: one wasm instance per thread on one shared memory.
//
// The calling thread owns the arena (every allocation, every size query); a threaded call
// allocates one scratch area per part, writes each worker's part into its slot of `args`, bumps
// the generation word and runs part 0 itself; the workers (blocked in Atomics.wait on that word)
// run theirs and count down `pending`. The caller waits for zero — with Atomics.wait where the host
// allows it (Node, Deno, workers), spinning on a browser's main thread, which may not block — and
// only then reads the outputs or releases the arena. Only the two exports made for it run on
// several threads at once (gemm_f32_cols, gemv_f32_part, bitstack_lut_gemv_rows, bitstack_tiles_rows: no arena,
// no static buffer); each
// output element is summed in the single-threaded order, so the bits are the same.

import { BitstackError } from './errors.js';

/** @internal A thread worker as the pool sees it (the entries adapt worker_threads and Web Workers). */
export interface ThreadHandle {
  post(message: ThreadStart): void;
  listen(onMessage: (message: ThreadReply) => void, onError: (error: unknown) => void): void;
  /** Lets the host exit while the thread waits (Node's unref); optional. */
  release?(): void;
  terminate(): void;
}
/** @internal */
export type SpawnThread = () => ThreadHandle;

/** @internal What a thread worker gets once: everything it needs to join the pool. */
export interface ThreadStart { module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; args: SharedArrayBuffer; index: number }
/** @internal What it answers once, before it starts waiting for work. */
export type ThreadReply = { type: 'ready' } | { type: 'error'; message: string };

// Control words (Int32Array over `control`).
const GENERATION = 0, PENDING = 1;
/** f64 slots per thread in `args`: [job, up to 13 arguments, status]. */
const SLOT = 16;
const STATUS = SLOT - 1;

/** Jobs a part can be. */
export const JOB_IDLE = 0, JOB_STOP = 1, JOB_GEMM_COLS = 2, JOB_LUT_ROWS = 3, JOB_GEMV_PART = 4, JOB_TILES_ROWS = 5;

/** The exports a part calls: the same in the calling thread and in a worker. */
interface PartExports {
  gemm_f32_cols(a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number, bPacked: number, n0: number, n1: number, scratch: number): void;
  bitstack_lut_gemv_rows(blocks: number, count: number, n: number, x: number, y: number, scratch: number, i0: number, i1: number): void;
  gemv_f32_part(a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number, bPacked: number, i0: number, i1: number, tile: number): void;
  bitstack_tiles_rows(blocks: number, count: number, m: number, n: number, x: number, batch: number, out: number, scratch: number, i0: number, i1: number): void;
}

/** Runs the part at args[o…]: one kernel call. */
function runPart(ex: PartExports, a: Float64Array | number[], o: number): void {
  switch (a[o]) {
    case JOB_GEMM_COLS:
      ex.gemm_f32_cols(a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10], a[o + 11], a[o + 12]);
      break;
    case JOB_GEMV_PART:
      ex.gemv_f32_part(a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10], a[o + 11], a[o + 12]);
      break;
    case JOB_TILES_ROWS:
      ex.bitstack_tiles_rows(a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10]);
      break;
    case JOB_LUT_ROWS:
      ex.bitstack_lut_gemv_rows(a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8]);
      break;
    case JOB_IDLE:
      break;
    default:
      throw new Error(`unknown thread job ${a[o]}`);
  }
}

/** Can this thread block in Atomics.wait? (Not a browser's main thread.) */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** @internal The body of a thread worker (src/workers/threads.*.ts): instantiate, say ready, serve until JOB_STOP. */
export async function serveThread(start: ThreadStart, reply: (m: ThreadReply) => void): Promise<void> {
  let ex: PartExports;
  try {
    const instance = await WebAssembly.instantiate(start.module, { env: { memory: start.memory } });
    ex = instance.exports as unknown as PartExports;
  } catch (e) {
    reply({ type: 'error', message: String((e as Error)?.message ?? e) });
    return;
  }
  const control = new Int32Array(start.control), args = new Float64Array(start.args);
  const o = start.index * SLOT;
  reply({ type: 'ready' });
  let seen = 0;
  for (;;) {
    Atomics.wait(control, GENERATION, seen);
    seen = Atomics.load(control, GENERATION);
    if (args[o] === JOB_STOP) return;
    let status = 0;
    try {
      runPart(ex, args, o);
    } catch {
      status = 1;
    }
    args[o + STATUS] = status;
    if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
  }
}

/** Cores the host reports: `navigator.hardwareConcurrency` (browsers, Deno, Node ≥ 21), else 1 (the Node entry asks the OS). */
export function hostThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}

/** The other threads of a threads-build instance (made by init; not part of the API). */
export class ThreadPool {
  /** Threads that run parts, the calling one included. */
  readonly size: number;
  readonly #control: Int32Array;
  readonly #args: Float64Array;
  readonly #workers: ThreadHandle[];
  readonly #block: boolean;
  #stopped = false;
  #runs = 0;

  /** Calls that ran split across the threads (tests check that a product really was split). */
  get runs(): number {
    return this.#runs;
  }

  private constructor(size: number, control: Int32Array, args: Float64Array, workers: ThreadHandle[]) {
    this.size = size;
    this.#control = control;
    this.#args = args;
    this.#workers = workers;
    this.#block = canBlock();
  }

  /**
   * @internal Starts `threads − 1` workers on `memory` (the calling thread is the last one). Rejects
   * when one cannot start within `timeoutMs`; those that did are ended.
   */
  static async start(spawn: SpawnThread, module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, timeoutMs = 20_000): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(64), args = new SharedArrayBuffer(8 * SLOT * threads);
    const workers: ThreadHandle[] = [];
    try {
      await Promise.all(Array.from({ length: threads - 1 }, (_, i) => new Promise<void>((resolve, reject) => {
        const w = spawn();
        workers.push(w);
        const timer = setTimeout(() => reject(new Error(`thread ${i + 1} did not start in ${timeoutMs} ms`)), timeoutMs);
        w.listen((m) => {
          clearTimeout(timer);
          if (m.type === 'ready') resolve();
          else reject(new Error(`thread ${i + 1} could not instantiate the module: ${m.message}`));
        }, (e) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
        w.post({ module, memory, control, args, index: i + 1 });
      })));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    for (const w of workers) w.release?.();
    return new ThreadPool(threads, new Int32Array(control), new Float64Array(args), workers);
  }

  /**
   * Runs `parts` (each [job, …arguments]; at most `size`) at once: part 0 on the calling thread.
   * Returns when every part is done; throws (after all are done) if one failed.
   */
  run(ex: PartExports, parts: number[][]): void {
    if (this.#stopped) throw new BitstackError('ARG', 'this bitstack-wasm instance was disposed');
    if (parts.length > this.size) throw new Error(`${parts.length} parts for ${this.size} threads`);
    const args = this.#args, control = this.#control;
    this.#runs++;
    for (let t = 1; t < this.size; t++) {
      const part = parts[t] ?? [JOB_IDLE];
      args.fill(0, t * SLOT, (t + 1) * SLOT);
      args.set(part, t * SLOT);
    }
    Atomics.store(control, PENDING, this.size - 1);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    let failure: unknown = null;
    try {
      runPart(ex, parts[0], 0);
    } catch (e) {
      failure = e;
    }
    // Every part must be over before the caller reads outputs or frees the arena.
    for (let p = Atomics.load(control, PENDING); p !== 0; p = Atomics.load(control, PENDING)) {
      if (this.#block) Atomics.wait(control, PENDING, p);
    }
    if (failure) throw failure;
    for (let t = 1; t < parts.length; t++) {
      if (args[t * SLOT + STATUS] !== 0) throw new BitstackError('WASM', `a kernel trapped on thread ${t}`);
    }
  }

  /** Ends the workers (they leave their wait and return). */
  terminate(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (let t = 1; t < this.size; t++) this.#args[t * SLOT] = JOB_STOP;
    Atomics.add(this.#control, GENERATION, 1);
    Atomics.notify(this.#control, GENERATION);
    for (const w of this.#workers) w.terminate();
  }
}

/**
 * Bounds of `parts` parts of `length` elements, each a multiple of `unit` (16: whole cache lines of f32
 * output, also whole 8-wide panels) but the last; the first and last are 0 and `length`.
 */
export function splitBounds(length: number, parts: number, unit = 16): number[] {
  return Array.from({ length: parts + 1 }, (_, t) => (t === parts ? length : Math.min(length, unit * Math.round((length / unit) * t / parts))));
}

/** How many parts a product of about `work` multiply-adds is worth: 1 below ~1M (the hand-off costs tens of µs). */
export function partsFor(pool: ThreadPool | undefined, work: number, maxParts: number): number {
  if (!pool || work < 2 ** 20) return 1;
  return Math.max(1, Math.min(pool.size, maxParts));
}
