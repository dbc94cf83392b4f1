// Long-lived buffers in wasm memory (resident matrices), below the scratch arena.
//
// A first-fit free list with coalescing over [heap_base, end). `end` is the
// arena's floor: growing the heap raises the floor, freeing the last block
// lowers it. Only called between kernel calls, when the scratch arena is empty.

import { BitstackError } from './errors.js';
import { MAX_ARENA_BYTES, type KernelExports } from './runtime.js';

const ALIGN = 64;
const alignUp = (x: number) => Math.ceil(x / ALIGN) * ALIGN;

export class Heap {
  readonly #ex: KernelExports;
  #end: number;
  /** Free blocks, sorted by address, never adjacent (coalesced). */
  readonly #free: { ptr: number; size: number }[] = [];

  constructor(ex: KernelExports) {
    this.#ex = ex;
    this.#end = ex.heap_base();
  }

  /** Bytes currently held by live blocks and holes. */
  get bytes(): number {
    return this.#end - this.#ex.heap_base();
  }

  /** Returns a 64-byte aligned block of at least `bytes` bytes. */
  alloc(bytes: number): { ptr: number; size: number } {
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.#free.length; i++) {
      const f = this.#free[i];
      if (f.size < size) continue;
      const ptr = f.ptr;
      if (f.size === size) this.#free.splice(i, 1);
      else { f.ptr += size; f.size -= size; }
      return { ptr, size };
    }
    const ptr = this.#end;
    if (ptr + size > MAX_ARENA_BYTES || !this.#ex.set_floor(ptr + size)) {
      throw new BitstackError('OUT_OF_MEMORY', `could not grow wasm memory by ${size} bytes for a resident buffer`);
    }
    this.#end = ptr + size;
    return { ptr, size };
  }

  free(ptr: number, size: number): void {
    let i = 0;
    while (i < this.#free.length && this.#free[i].ptr < ptr) i++;
    this.#free.splice(i, 0, { ptr, size });
    // Coalesce with the next, then with the previous block.
    const next = this.#free[i + 1];
    if (next && ptr + size === next.ptr) { this.#free[i].size += next.size; this.#free.splice(i + 1, 1); }
    const prev = this.#free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) { prev.size += this.#free[i].size; this.#free.splice(i, 1); i--; }
    // A free block at the end gives its memory back to the scratch arena.
    const last = this.#free[this.#free.length - 1];
    if (last && last.ptr + last.size === this.#end) {
      this.#free.pop();
      this.#end = last.ptr;
      this.#ex.set_floor(this.#end);
    }
  }
}
