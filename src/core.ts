// bitstack-wasm core: instantiate a kernels module from an explicit source and
// expose the operations. No I/O happens here (import from 'bitstack-wasm/core'
// in hosts where the package's default module cannot be located).

import { BitstackError } from './errors.js';
import { Runtime } from './runtime.js';
import { matmul, type MatmulOptions } from './ops/matmul.js';
import { svd, type SvdOptions, type SvdResult } from './ops/svd.js';
import { decompose, decomposeAsync, restore, packSigns, toFloat16, fromFloat16, type StackedMatrixData, type DecomposeOptions, type DecomposeAsyncOptions, type StackedMatrix } from './ops/bitstack.js';
import { stack, readStack, type Stack, type StackOptions, type StackOrder } from './ops/stack.js';
import { dctBasis, dctSelect, backProject, svdProject, type DctSelectOptions, type Projection } from './ops/dct.js';
import { openStack, type StackSource, type OpenStackOptions, type LiveStack } from './ops/open.js';
import type { StackCacheStore } from './ops/cache.js';
import { decomposeMany, type DecomposeManyOptions, type ManyEntry, type SpawnWorker } from './ops/many.js';
import { ThreadPool, hostThreads, type SpawnThread } from './threads.js';

/** @internal What an entry gives an instance besides its kernels: the module (for workers), a cache, workers. */
interface HostServices {
  module?: WebAssembly.Module;
  cacheStore?: (name: string) => StackCacheStore;
  spawnWorker?: SpawnWorker;
  cores?: () => number;
}
import { WasmMatrix } from './matrix.js';
import { boolOption, dim, f32, options, type F32Operand } from './ops/validate.js';

// Names the public types take from the DOM lib: declared as empty interfaces, which merge with the
// real ones wherever a consumer has them (lib DOM, @types/node), so that the published types also
// compile in a program without the DOM lib. (Here, not in a module of their own: importing one for
// its types would be a side effect that bundlers warn about under package.json's sideEffects: false.)
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebAssembly {
    interface Module {}
    interface Instance {}
    interface Memory {}
    interface Global {}
  }
  interface Response {}
  interface URL {}
  interface ReadableStream<R = any> {}
  interface AbortSignal {}
  interface Blob {}
}

export { BitstackError, type BitstackErrorCode } from './errors.js';
export type { MatmulOptions } from './ops/matmul.js';
export type { SvdOptions, SvdResult } from './ops/svd.js';
export type { DctSelectOptions, Projection } from './ops/dct.js';
export { StackedMatrix, type StackedMatrixData, type DecomposeOptions, type DecomposeAsyncOptions, type DecomposeProgress, type BlockData, type FactorType } from './ops/bitstack.js';
export { Stack, StackBudget, isBlockTensor, type BudgetMatrix, type StackOptions, type StackOrder, type BudgetOptions, type StackFileTensor } from './ops/stack.js';
export { readSafetensors, writeSafetensors, openSafetensors, streamSafetensors, type SafetensorsFile, type SafetensorsEntry, type SafetensorsDtype, type SafetensorsReader } from './formats/safetensors.js';
export { WasmMatrix } from './matrix.js';
export type { StackSource, OpenStackOptions, LiveStack, LoadProgress, KeptTensor } from './ops/open.js';
export { cacheStorageStore, type StackCache, type StackCacheStore } from './ops/cache.js';
export type { DecomposeManyOptions, DecomposeManyProgress, ManyEntry } from './ops/many.js';
export { readTfjsModel, type TfjsTensor } from './formats/tfjs.js';
export type { F32Operand } from './ops/validate.js';

/** Anything a kernels module can be made from without I/O. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView | Response | PromiseLike<Response>;

/** What `init` accepts. The runtime entries also take a URL or a path/URL string for `wasm`. */
export interface InitOptions {
  /** The kernels module to use. Default (runtime entries only): the package's `simd` build. */
  wasm?: WasmSource | URL | string;
  /** The relaxed-SIMD build, used when `relaxed` asks for it. Default (runtime entries): the package's. */
  relaxedWasm?: WasmSource | URL | string;
  /**
   * `false` (default): the deterministic SIMD128 build, bit-identical in every runtime.
   * `true`: the relaxed-SIMD build; throws UNSUPPORTED where the runtime lacks relaxed SIMD.
   * `'auto'`: the relaxed build where `WebAssembly.validate` accepts relaxed SIMD, else the default.
   */
  relaxed?: boolean | 'auto';
  /**
   * Threads for the large matrix products (GEMM's columns, the LUT matvec's rows): `1` (default)
   * runs everything on the calling thread; `n > 1` or `'auto'` (the host's cores) loads the `threads`
   * build on a shared memory and starts n − 1 workers where the host allows it (Node, Deno, Web
   * Workers, and pages that are `crossOriginIsolated`: COOP/COEP headers), else falls back to the
   * single-threaded build: `features.threads` says what runs. Results are the same bits either way.
   * Not with `relaxed: true` (there is no relaxed threads build); `'auto'` then means not relaxed.
   */
  threads?: number | 'auto';
  /** The threads build, used when `threads` asks for it. Default (runtime entries): the package's. */
  threadsWasm?: WasmSource | URL | string;
}

/** WebAssembly features of the instantiated module. */
export interface Features {
  /** Always true: SIMD128 is required. */
  simd: boolean;
  /** True when the relaxed-SIMD build is running (results may differ between engines in the last bits). */
  relaxed: boolean;
  /** Threads the large products run on (1: the calling thread only). */
  threads: number;
}

// (module (func (result v128) (i32x4.splat (i32.const 0))))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11,
]);
// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

// (module (memory 1 1 shared))
const SHARED_MEMORY_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 3, 1, 1]);

/**
 * Does this runtime validate SIMD128 / relaxed-SIMD code? (No compilation: allowed in workerd too.)
 * `threads`: where it can share wasm memory with workers, the cores `navigator.hardwareConcurrency`
 * reports (1 where there is none, as in Node 20: the Node entry's `init({ threads: 'auto' })` asks the OS), else 1.
 */
export function detectFeatures(): Features {
  return { simd: WebAssembly.validate(SIMD_PROBE), relaxed: WebAssembly.validate(RELAXED_PROBE), threads: sharedMemoryAllowed() ? hostThreads() : 1 };
}

/** Shared wasm memory that can be posted to workers: not in a page without cross-origin isolation. */
function sharedMemoryAllowed(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return false;
  return WebAssembly.validate(SHARED_MEMORY_PROBE);
}

/** Pages of the shared memory the threads build imports (its declared maximum: all of wasm32). */
const SHARED_MAX_PAGES = 65536;

/** Instantiates a kernels module: one that imports its memory (the threads build) gets a new shared one. */
async function instantiateKernels(module: WebAssembly.Module): Promise<{ instance: WebAssembly.Instance; memory: WebAssembly.Memory | null }> {
  const wantsMemory = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  const memory = wantsMemory ? new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true } as WebAssembly.MemoryDescriptor) : null;
  try {
    const instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
    return { instance, memory };
  } catch (e) {
    throw new BitstackError('WASM', `could not instantiate the kernels module: ${(e as Error).message}`);
  }
}

/** How a runtime entry turns a URL or string into a source and where its default modules are. */
export interface SourceLoader {
  /** The package's own module of that build. */
  defaultModule(build: 'simd' | 'relaxed' | 'threads'): Promise<WasmSource>;
  /** Loads a URL or a path/URL string. */
  load(location: URL | string): Promise<WasmSource>;
  /** The store `openStack({ cache: name })` uses (default: Cache Storage). */
  cacheStore?(name: string): StackCacheStore;
  /** @internal Starts a decomposition worker for `decomposeMany` (none: the calling thread does the work). */
  spawnWorker?: SpawnWorker;
  /** @internal Starts a kernels thread for the threads build (none: no threads). */
  spawnThread?: SpawnThread;
  /** The host's cores, where `navigator.hardwareConcurrency` does not tell (Node 20). */
  cores?(): number;
}

const NO_IO: SourceLoader = {
  defaultModule() {
    return Promise.reject(new BitstackError('ARG', "bitstack-wasm/core does no I/O: pass init({ wasm }) (a WebAssembly.Module, bytes or a Response)"));
  },
  load(location) {
    return Promise.reject(new BitstackError('ARG', `bitstack-wasm/core does no I/O: cannot load ${String(location)}; pass a Module, bytes or a Response`));
  },
};

function isResponse(v: unknown): v is Response {
  return typeof Response !== 'undefined' && v instanceof Response;
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  try {
    return await compileUnchecked(source);
  } catch (e) {
    if (e instanceof BitstackError) throw e;
    const message = (e as Error)?.message ?? String(e);
    if (/disallowed|not allowed|CSP|Content Security/i.test(message)) {
      throw new BitstackError('UNSUPPORTED',
        `this host forbids compiling wasm at run time (${message}); pass a precompiled WebAssembly.Module`);
    }
    throw new BitstackError('WASM', `not a valid wasm module: ${message}`);
  }
}

async function compileUnchecked(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const settled = await source;
  if (isResponse(settled)) {
    if (!settled.ok) {
      throw new BitstackError('WASM', `fetching the kernels module ${settled.url || '(a Response)'} failed: HTTP ${settled.status}. `
        + 'A bundler that does not copy `new URL(…, import.meta.url)` assets (esbuild) leaves it out: serve '
        + 'node_modules/bitstack-wasm/build/kernels.simd.wasm yourself and pass init({ wasm: fetch(itsUrl) }) (or its bytes, or a WebAssembly.Module)');
    }
    if (typeof WebAssembly.compileStreaming === 'function') {
      try {
        return await WebAssembly.compileStreaming(settled.clone());
      } catch (e) {
        // Wrong MIME type or no streaming support: fall back to the bytes.
        if (!(e instanceof TypeError)) throw e;
      }
    }
    return WebAssembly.compile(await settled.arrayBuffer());
  }
  if (settled instanceof ArrayBuffer || ArrayBuffer.isView(settled)) {
    return WebAssembly.compile(settled as BufferSource);
  }
  throw new BitstackError('ARG', 'wasm source must be a WebAssembly.Module, an ArrayBuffer/view, a Response, a URL or a string');
}

/** Builds the `init` function of one runtime entry. */
export function createInit(loader: SourceLoader): (options?: InitOptions) => Promise<Bitstack> {
  return async function init(options: InitOptions = {}): Promise<Bitstack> {
    if (options === null || typeof options !== 'object') throw new BitstackError('ARG', `init options must be an object, got ${options === null ? 'null' : typeof options}`);
    const { relaxed = false } = options;
    if (relaxed !== true && relaxed !== false && relaxed !== 'auto') {
      throw new BitstackError('ARG', `options.relaxed must be true, false or 'auto', got ${String(relaxed)}`);
    }
    const host = detectFeatures();
    if (!host.simd) throw new BitstackError('UNSUPPORTED', 'this runtime does not support WebAssembly SIMD128');
    if (relaxed === true && !host.relaxed) {
      throw new BitstackError('UNSUPPORTED', 'this runtime does not support relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
    }
    const cores = loader.cores ?? hostThreads;
    const asked = threadsOption(options.threads, cores);
    if (asked > 1 && relaxed === true) throw new BitstackError('ARG', 'options.threads > 1 needs the deterministic build: there is no relaxed threads build (pass relaxed: false or \'auto\')');
    const source = async (given: WasmSource | URL | string | undefined, build: 'simd' | 'relaxed' | 'threads'): Promise<WasmSource> => {
      if (given === undefined) return loader.defaultModule(build);
      // (URL is feature-tested: a bare ECMAScript host such as JavaScriptCore's shell has none.)
      if (typeof given === 'string' || (typeof URL !== 'undefined' && given instanceof URL)) return loader.load(given as URL | string);
      return given;
    };
    const services = { cacheStore: loader.cacheStore, spawnWorker: loader.spawnWorker, cores };
    if (asked > 1 && loader.spawnThread && sharedMemoryAllowed()) {
      const module = await compile(await source(options.threadsWasm, 'threads'));
      const { instance, memory } = await instantiateKernels(module);
      if (memory) {
        try {
          const pool = await ThreadPool.start(loader.spawnThread, module, memory, asked);
          return new Bitstack(new Runtime(instance, pool), { module, ...services });
        } catch {
          // Workers that cannot start (a bundle without the worker file, a CSP): one thread.
        }
      }
      // (A module that imports no memory is not the threads build: it runs on one thread, below.)
    }
    const useRelaxed = relaxed === true || (relaxed === 'auto' && host.relaxed && asked === 1);
    const module = await compile(await source(useRelaxed ? (options.relaxedWasm ?? options.wasm) : options.wasm, useRelaxed ? 'relaxed' : 'simd'));
    const { instance } = await instantiateKernels(module);
    return new Bitstack(new Runtime(instance), { module, ...services });
  };
}

/** options.threads as a count: 1 by default, the host's cores for 'auto'. */
function threadsOption(value: unknown, cores: () => number): number {
  if (value === undefined) return 1;
  if (value === 'auto') return Math.min(cores(), 64);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 64) {
    throw new BitstackError('ARG', `options.threads must be 'auto' or an integer from 1 to 64, got ${String(value)}`);
  }
  return value;
}

/** `init` without I/O: `options.wasm` (a Module, bytes or a Response) is required. */
export const init = createInit(NO_IO);

/** The library: one instantiated kernels module and the operations on it. */
export class Bitstack {
  /** @internal */
  readonly #rt: Runtime;
  readonly #host: HostServices;
  readonly features: Features;

  /** @internal Use `init()`. */
  constructor(rt: Runtime, host: HostServices = {}) {
    this.#rt = rt;
    this.#host = host;
    this.features = Object.freeze({ simd: true, relaxed: rt.exports.build_relaxed() === 1, threads: rt.pool?.size ?? 1 });
  }

  /**
   * Matrix product C = op(A)·op(B), row-major f32.
   * @param a m×k (k×m with `transA`): a Float32Array, or a resident WasmMatrix (no copy)
   * @param b k×n (n×k with `transB`): likewise
   * @returns C, m×n (a new array, or `opts.out`)
   */
  matmul(a: F32Operand, b: F32Operand, m: number, k: number, n: number, opts?: MatmulOptions & { out?: Float32Array }): Float32Array;
  /** With a resident `opts.out`, C stays in wasm memory and that WasmMatrix is returned. */
  matmul(a: F32Operand, b: F32Operand, m: number, k: number, n: number, opts: MatmulOptions & { out: WasmMatrix }): WasmMatrix;
  matmul(a: F32Operand, b: F32Operand, m: number, k: number, n: number, opts?: MatmulOptions): Float32Array | WasmMatrix {
    return matmul(this.#rt, a, b, m, k, n, opts);
  }

  /**
   * Singular value decomposition A = U·diag(S)·Vt of a row-major m×n matrix, by
   * preconditioned one-sided Jacobi (relative accuracy for small singular values).
   * Outputs have the element type of `a` (Float32Array or Float64Array); S is
   * descending; the largest entry of each column of U is positive.
   * @returns { U (m×p), S (p), Vt (p×n), sweeps, converged }, p = min(m, n) or opts.rank
   */
  svd<A extends Float32Array | Float64Array>(a: A, m: number, n: number, opts?: SvdOptions): SvdResult<A> {
    return svd(this.#rt, a, m, n, opts);
  }

  /** The orthonormal DCT-II basis, n×n row-major: D[k][j] = c_k·cos(π(2j+1)k/(2n)), c_0 = √(1/n), c_k = √(2/n). */
  dctBasis(n: number): Float32Array {
    return dctBasis(this.#rt, n);
  }

  /**
   * SVD-free low-rank projection of the m×n gradient g onto r DCT-II basis vectors
   * (scored by the L1/L2 norm of their column (right) or row (left) of S).
   * @returns { side, indices (r, by score), projected (m×r right, r×n left), scores, rows, cols, method }
   */
  dctSelect(g: Float32Array, m: number, n: number, r: number, opts?: DctSelectOptions): Projection {
    return dctSelect(this.#rt, g, m, n, r, opts);
  }

  /** Back to m×n: 'right': projected·D[indices, :]; 'left': D[indices, :]ᵀ·projected (also for svdProject results). */
  dctBackProject(p: Projection): Float32Array {
    return backProject(this.#rt, p);
  }

  /**
   * GaLore's SVD projection in dctSelect's conventions (top r singular vectors on the same side):
   * rank-r randomized SVD by default, full Jacobi with `exact: true`.
   */
  svdProject(g: Float32Array, m: number, n: number, r: number, opts?: { exact?: boolean; side?: 'left' | 'right' }): Projection {
    return svdProject(this.#rt, g, m, n, r, opts);
  }

  /**
   * BitStack decomposition of the m×n weight w into residual blocks, each a packed sign matrix
   * times a rank-k magnitude A·B (by default k chosen per block, A and B in int8 with f16 scales);
   * any prefix of blocks is a valid weight.
   */
  decompose(w: Float32Array, m: number, n: number, opts?: DecomposeOptions): StackedMatrix {
    return decompose(this.#rt, w, m, n, opts);
  }

  /**
   * decompose() without blocking: yields to the event loop between blocks (progress can be drawn,
   * the page stays responsive) and stops when `opts.signal` aborts (`ABORTED` error). Same result.
   */
  decomposeAsync(w: Float32Array, m: number, n: number, opts?: DecomposeAsyncOptions): Promise<StackedMatrix> {
    return decomposeAsync(this.#rt, w, m, n, opts);
  }

  /**
   * Many matrices `{ name: [w, m, n, opts?] }` decomposed at once on `opts.jobs` workers (default: the
   * host's cores) — Node worker_threads, Web Workers in browsers and Deno — each with an instance of
   * this one's module, so the blocks are the bytes `decompose` gives here. Where there are no
   * workers (workerd, JavaScriptCore's shell) the calling thread does the work, yielding between
   * blocks. Resolves to `{ name: StackedMatrix }` (an object without prototype) in this instance.
   */
  decomposeMany(matrices: Record<string, ManyEntry>, opts?: DecomposeManyOptions): Promise<Record<string, StackedMatrix>> {
    return decomposeMany(this.#rt, this.#host.module, matrices, opts, this.#host.spawnWorker, this.#host.cores);
  }

  /**
   * Loads a stack file progressively — the header, then the kept tensors and the blocks in stack
   * order, in bounded requests, up to `opts.budget` — from a URL (HTTP Range requests), a Response,
   * a Blob/File or a reader `(offset, length) => bytes`. Resolves once the header is read (the plan:
   * `order`, `bytesPlanned`); `stack.ready` when every matrix has `opts.minBlocks` blocks; later
   * blocks join their matrix one whole block at a time (`onBlock`, `loaded`). `opts.cache` keeps the
   * fetched ranges for offline use and resumption.
   */
  openStack(source: StackSource, opts?: OpenStackOptions): Promise<LiveStack> {
    return openStack(this.#rt, source, opts, this.#host.cacheStore);
  }

  /** A StackedMatrix from `sm.export()`'s plain data — e.g. decomposed in a worker — in this instance. */
  restore(data: StackedMatrixData): StackedMatrix {
    return restore(this.#rt, data);
  }

  /** Orders the blocks of several matrices into one stack (for budgets and files). */
  stack(matrices: Record<string, StackedMatrix>, opts?: StackOptions): Stack {
    return stack(matrices, opts);
  }

  /**
   * Reads a stack from a safetensors file (ours, or a reference checkpoint). Order: `opts.order`, else
   * `opts.compressionConfig` (the reference's compression configs, parsed), else the file's own, else level by level.
   */
  readStack(bytes: Uint8Array, opts?: { order?: StackOrder; compressionConfig?: unknown }): Stack {
    return readStack(this.#rt, bytes, opts);
  }

  /** Packs signs as BitStack stores them: row-major, MSB first, set bit = +1, sign(0) = +1. */
  packSigns(x: Float32Array): Uint8Array {
    return packSigns(this.#rt, x);
  }

  /** f32 → IEEE float16 bits, round to nearest even (in wasm). */
  toFloat16(x: Float32Array): Uint16Array {
    return toFloat16(this.#rt, x);
  }

  /** IEEE float16 bits → f32 (in wasm). */
  fromFloat16(h: Uint16Array): Float32Array {
    return fromFloat16(this.#rt, h);
  }

  /** f32 → bfloat16 bits, round to nearest even (in wasm, SIMD). */
  toBfloat16(x: Float32Array): Uint16Array {
    return toFloat16(this.#rt, x, true);
  }

  /** bfloat16 bits → f32 (in wasm, SIMD). */
  fromBfloat16(h: Uint16Array): Float32Array {
    return fromFloat16(this.#rt, h, true);
  }

  /**
   * Copies `data` (rows×cols, row-major) into the module's memory once and keeps it there:
   * a weight matrix used by many products. Free it with `.free()`.
   * `opts.prepack` (default true): when used as the B operand of a matrix product, keep B
   * packed for the micro-kernel (about as many bytes again) so later products skip packing.
   */
  matrix(data: Float32Array, rows: number, cols: number, opts: { prepack?: boolean } = {}): WasmMatrix {
    opts = options('opts', opts);
    rows = dim('rows', rows);
    cols = dim('cols', cols);
    f32('data', data, rows * cols, `rows×cols (${rows}×${cols})`);
    return new WasmMatrix(this.#rt, data, rows, cols, boolOption('opts.prepack', opts.prepack, true));
  }

  /** @internal Products that ran split across threads so far (0 on one thread). */
  get threadRuns(): number {
    return this.#rt.pool?.runs ?? 0;
  }

  /** Bytes of wasm memory currently reserved by the module (it grows on demand, never shrinks). */
  get memoryBytes(): number {
    return this.#rt.exports.memory.buffer.byteLength;
  }

  /** Bytes held by resident buffers — WasmMatrix, StackedMatrix blocks, cached DCT bases — including holes between them. */
  get residentBytes(): number {
    return this.#rt.residentBytes;
  }

  /** Frees the caches (the resident DCT bases, at most 64 MB): later calls rebuild what they need. */
  clearCaches(): void {
    this.#rt.clearCaches();
  }

  /**
   * Frees everything this instance holds and makes it unusable: every later call on it, or on a
   * matrix or stack it made, is an `ARG` error. Its memory goes when nothing references it.
   */
  dispose(): void {
    this.#rt.dispose();
  }
}
