// The instantiated kernels module and the memory rules around it.
//
// Rules (the README's "ABI and memory"):
// - every call takes an arena mark, copies its inputs into the module's memory
//   once, runs the kernel, copies the outputs out, and releases the mark;
// - a kernel may grow memory, which detaches every ArrayBuffer view over the old
//   buffer, so views are created fresh from `memory.buffer` after each kernel
//   call and never escape this file's callers: users only ever get copies.

import { BitstackError } from './errors.js';
import { Heap } from './heap.js';
import type { ThreadPool } from './threads.js';
import { ABI_VERSION, REQUIRED_EXPORTS, UNSIGNED_RESULTS, type KernelExports } from './abi/exports.generated.js';

export type { KernelExports } from './abi/exports.generated.js';

/**
 * The one ceiling of the arena: bytes one call may place there — its inputs, outputs and the
 * kernel's own scratch (the *_scratch_bytes queries) — wasm32's 4 GiB less room for the module's data.
 */
export const MAX_ARENA_BYTES = 2 ** 32 - 2 ** 20;

export class Runtime {
  exports: KernelExports;
  #heap: Heap;
  #depth = 0;

  /** Status codes and option values, read from the module (assembly/index.ts owns them). */
  readonly abi: { OK: number; OUT_OF_MEMORY: number; BAD_ARGUMENT: number; NOT_REPRESENTABLE: number; METHOD_SUBSPACE: number; METHOD_EXACT: number; METHOD_KRYLOV: number; FACTORS_F16: number; FACTORS_I8: number };

  /** The threads build's other threads (none: everything runs on the calling thread). */
  readonly pool: ThreadPool | undefined;

  constructor(instance: WebAssembly.Instance, pool?: ThreadPool) {
    this.pool = pool;
    const ex = instance.exports as Record<string, unknown>;
    if (!(ex.ABI_VERSION instanceof WebAssembly.Global)) {
      throw new BitstackError('WASM', 'not a bitstack-wasm kernels module: it exports no ABI_VERSION');
    }
    const version = ex.ABI_VERSION.value as number;
    if (version !== ABI_VERSION) {
      throw new BitstackError('WASM', `the kernels module speaks ABI version ${version}, this facade version ${ABI_VERSION}: use the .wasm of the same package version`);
    }
    for (const name of REQUIRED_EXPORTS) {
      if (!(name in ex)) {
        throw new BitstackError('WASM', `not a bitstack-wasm kernels module: export "${name}" is missing`);
      }
    }
    // Addresses and byte counts come back as signed i32: read them as unsigned (memory may pass 2 GiB).
    const view = Object.assign(Object.create(null), ex) as Record<string, unknown>;
    for (const name of UNSIGNED_RESULTS) {
      const fn = ex[name] as (...args: number[]) => number;
      view[name] = (...args: number[]) => fn(...args) >>> 0;
    }
    this.exports = view as unknown as KernelExports;
    const g = (name: keyof KernelExports) => ((ex[name] as WebAssembly.Global).value as number);
    this.abi = Object.freeze({
      OK: g('STATUS_OK'), OUT_OF_MEMORY: g('STATUS_OUT_OF_MEMORY'), BAD_ARGUMENT: g('STATUS_BAD_ARGUMENT'), NOT_REPRESENTABLE: g('STATUS_NOT_REPRESENTABLE'),
      METHOD_SUBSPACE: g('BITSTACK_METHOD_SUBSPACE'), METHOD_EXACT: g('BITSTACK_METHOD_EXACT'), METHOD_KRYLOV: g('BITSTACK_METHOD_KRYLOV'),
      FACTORS_F16: g('BITSTACK_FACTORS_F16'), FACTORS_I8: g('BITSTACK_FACTORS_I8'),
    });
    this.#heap = new Heap(this.exports);
  }

  readonly #clearers: Array<() => void> = [];

  /** Registers how a cache (e.g. the DCT bases) frees its resident buffers, for clearCaches and dispose. */
  onClearCaches(clear: () => void): void {
    this.#clearers.push(clear);
  }

  /** Frees every cache's resident buffers. */
  clearCaches(): void {
    for (const clear of this.#clearers) clear();
  }

  /**
   * Frees everything and makes the instance unusable: every later call, through the Bitstack or any
   * matrix it made, is an ARG error. The module's memory is released when nothing references it.
   */
  dispose(): void {
    this.clearCaches();
    this.pool?.terminate();
    const gone = () => { throw new BitstackError('ARG', 'this bitstack-wasm instance was disposed'); };
    this.exports = new Proxy({} as KernelExports, { get: gone });
    this.#heap = new Proxy({} as Heap, { get: gone });
  }

  /** Runs `fn` with an arena scope: everything allocated inside is freed afterwards, even on error. */
  scoped<T>(fn: () => T): T {
    const mark = this.exports.mark();
    this.#depth++;
    try {
      return fn();
    } finally {
      this.#depth--;
      this.exports.release(mark);
    }
  }

  /** A long-lived block (resident matrices). Not while an operation runs (e.g. from a progress callback). */
  allocResident(bytes: number): { ptr: number; size: number } {
    if (this.#depth > 0) {
      throw new BitstackError('ARG', 'cannot create a resident matrix while an operation is running');
    }
    return this.#heap.alloc(bytes);
  }

  freeResident(ptr: number, size: number): void {
    if (this.#depth > 0) {
      throw new BitstackError('ARG', 'cannot free a resident matrix while an operation is running');
    }
    this.#heap.free(ptr, size);
  }

  /** Bytes held by resident matrices (and holes between them). */
  get residentBytes(): number {
    return this.#heap.bytes;
  }

  /**
   * The one size check: throws TOO_LARGE when a call that places `bytes` in the arena (inputs,
   * outputs, the kernel's scratch query) cannot fit wasm32's address space.
   */
  fits(what: string, bytes: number): void {
    if (!(bytes <= MAX_ARENA_BYTES)) {
      throw new BitstackError('TOO_LARGE', `${what} needs ${bytes} bytes of wasm memory, more than a wasm32 module can address`);
    }
  }

  /** Allocates `bytes` (64-byte aligned) in the arena. */
  alloc(bytes: number): number {
    if (bytes > MAX_ARENA_BYTES) {
      throw new BitstackError('TOO_LARGE', `needs ${bytes} bytes of wasm memory, more than a wasm32 module can address`);
    }
    const ptr = this.exports.alloc(bytes);
    if (ptr === 0) {
      throw new BitstackError('OUT_OF_MEMORY', `could not grow wasm memory by ${bytes} bytes`);
    }
    return ptr;
  }

  /**
   * Runs one part per range [bounds[t], bounds[t + 1]) on the threads (part 0 on this one), each with
   * its own `each` bytes of arena scratch: `part(i0, i1, scratch)` gives its job and arguments.
   */
  runParts(bounds: number[], each: number, part: (i0: number, i1: number, scratch: number) => number[]): void {
    const scratch = this.alloc((bounds.length - 1) * each);
    this.pool!.run(this.exports, bounds.slice(0, -1).map((i0, t) => part(i0, bounds[t + 1], scratch + t * each)));
  }

  /** A fresh view over the current memory buffer. Never hand it to a user: copy out of it. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, length);
  }

  /** A fresh view over the current memory buffer. Never hand it to a user: copy out of it. */
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.exports.memory.buffer, ptr, length);
  }

  /** A fresh view of the same element type as `like`. */
  view<A extends Float32Array | Float64Array>(like: A, ptr: number, length: number): A {
    return (like instanceof Float64Array ? this.f64(ptr, length) : this.f32(ptr, length)) as A;
  }

  /** A fresh byte view over the current memory buffer. Never hand it to a user: copy out of it. */
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, length);
  }

  /** Copies a Float32Array or Float64Array into the arena and returns its pointer. */
  copyIn(src: Float32Array | Float64Array): number {
    const ptr = this.alloc(src.byteLength);
    this.view(src, ptr, src.length).set(src);
    return ptr;
  }

  /** Throws NON_FINITE if the array just copied to `ptr` holds NaN or ±Infinity (checked in wasm, SIMD). */
  checkFinite(name: string, src: Float32Array | Float64Array, ptr: number): void {
    const i = this.exports.first_nonfinite(ptr, src.length, src instanceof Float64Array ? 1 : 0);
    if (i >= 0) throw new BitstackError('NON_FINITE', `${name}[${i}] is ${src[i]}: input must be finite`);
  }

  /** Throws the typed error for a kernel's non-zero status. */
  check(status: number, what: string): void {
    if (status === this.abi.OK) return;
    if (status === this.abi.OUT_OF_MEMORY) {
      throw new BitstackError('OUT_OF_MEMORY', `${what}: could not grow wasm memory for scratch buffers`);
    }
    if (status === this.abi.BAD_ARGUMENT) throw new BitstackError('ARG', `${what}: the kernel rejected its arguments`);
    if (status === this.abi.NOT_REPRESENTABLE) {
      throw new BitstackError('NON_FINITE', `${what}: a result does not fit its storage type (values beyond float16's range, or so small a scale rounds to 0): scale the input`);
    }
    throw new BitstackError('WASM', `${what}: kernel returned unknown status ${status}`);
  }
}
