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

/** The raw exports of a kernels module (assembly/index.ts). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  mark(): number;
  release(mark: number): void;
  reset(): void;
  heap_base(): number;
  set_floor(floor: number): number;
  build_relaxed(): number;
  first_nonfinite(x: number, n: number, f64: number): number;
  gemm_f32(a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number, bPacked: number): number;
  gemm_packed_b_bytes(k: number, n: number): number;
  gemm_pack_b(b: number, k: number, n: number, transB: number, dst: number): void;
  svd_f64(a: number, m: number, n: number, wantUV: number, s: number, u: number, vt: number, maxSweeps: number): number;
  svd_f32(a: number, m: number, n: number, wantUV: number, s: number, u: number, vt: number, maxSweeps: number): number;
  dct_basis(n: number, rows: number, count: number, dst: number): void;
  dct_select(g: number, m: number, n: number, r: number, left: number, l2: number, fft: number, basis: number,
    idx: number, scores: number, projected: number): number;
  bitstack_block(r: number, m: number, n: number, kmax: number, rankMask: number, factors: number, method: number, iters: number,
    oversample: number, seed: number, subtractRounded: number, signs: number, aOut: number, bOut: number, aScale: number,
    bScale: number, a32: number, b32: number, out: number): number;
  bitstack_decode_i8(aq: number, aScale: number, bq: number, bScale: number, m: number, n: number, k: number, a32: number, b32: number): void;
  bitstack_reconstruct(blocks: number, count: number, m: number, n: number, w: number): number;
  bitstack_matmul(blocks: number, count: number, m: number, n: number, x: number, batch: number, y: number): number;
  bitstack_lut_gemv(signs: number, m: number, n: number, a: number, b: number, k: number, x: number, y: number, scratch: number): void;
  bitstack_lut_scratch(m: number): number;
  f32_to_f16(src: number, n: number, dst: number): void;
  f16_to_f32(src: number, n: number, dst: number): void;
  bf16_to_f32(src: number, n: number, dst: number): void;
  f32_to_bf16(src: number, n: number, dst: number): void;
  pack_signs(x: number, n: number, dst: number): void;
  svd_rank(f64: number, a: number, m: number, n: number, k: number, oversample: number, iters: number, seed: number,
    wantUV: number, s: number, u: number, vt: number, maxSweeps: number, krylov: number): number;
}

const REQUIRED = ['memory', 'alloc', 'mark', 'release', 'reset', 'heap_base', 'set_floor', 'build_relaxed', 'first_nonfinite', 'gemm_f32', 'gemm_packed_b_bytes', 'gemm_pack_b',
  'svd_f64', 'svd_f32', 'svd_rank', 'dct_basis', 'dct_select',
  'bitstack_block', 'bitstack_decode_i8', 'bitstack_reconstruct', 'bitstack_matmul', 'bitstack_lut_gemv', 'bitstack_lut_scratch', 'f32_to_f16', 'f16_to_f32', 'bf16_to_f32', 'f32_to_bf16', 'pack_signs'] as const;

/** Largest byte count one call may place in the arena (wasm32: 4 GiB, minus room for the data segment). */
export const MAX_ARENA_BYTES = 2 ** 32 - 2 ** 20;

/** Status codes returned by kernels (assembly/gemm/driver.ts). */
const STATUS_OUT_OF_MEMORY = 1;
const STATUS_BAD_ARGUMENT = 2;

export class Runtime {
  readonly exports: KernelExports;
  readonly #heap: Heap;
  #depth = 0;

  constructor(instance: WebAssembly.Instance) {
    const ex = instance.exports as Record<string, unknown>;
    for (const name of REQUIRED) {
      if (!(name in ex)) {
        throw new BitstackError('WASM', `not a bitstack-wasm kernels module: export "${name}" is missing`);
      }
    }
    this.exports = ex as unknown as KernelExports;
    this.#heap = new Heap(this.exports);
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
    if (status === 0) return;
    if (status === STATUS_OUT_OF_MEMORY) {
      throw new BitstackError('OUT_OF_MEMORY', `${what}: could not grow wasm memory for scratch buffers`);
    }
    if (status === STATUS_BAD_ARGUMENT) throw new BitstackError('ARG', `${what}: the kernel rejected its arguments`);
    throw new BitstackError('WASM', `${what}: kernel returned unknown status ${status}`);
  }
}
