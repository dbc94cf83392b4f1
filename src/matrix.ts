import { BitstackError } from './errors.js';
import type { Runtime } from './runtime.js';

/**
 * A row-major f32 matrix that stays in the module's memory between calls, as a
 * model's weights do: pass it wherever an operation takes a Float32Array operand
 * to skip the copy into wasm memory. Create with `bw.matrix(data, rows, cols)`;
 * call `free()` when done (or `using m = bw.matrix(...)` where supported).
 */
export class WasmMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly #rt: Runtime;
  #ptr: number;
  readonly #size: number;

  /** @internal Use `bw.matrix()`. */
  constructor(rt: Runtime, data: Float32Array, rows: number, cols: number) {
    const block = rt.allocResident(data.length * 4);
    rt.f32(block.ptr, data.length).set(data);
    this.#rt = rt;
    this.#ptr = block.ptr;
    this.#size = block.size;
    this.rows = rows;
    this.cols = cols;
  }

  get length(): number {
    return this.rows * this.cols;
  }

  /** True once `free()` was called. */
  get freed(): boolean {
    return this.#ptr === 0;
  }

  /** @internal The pointer, after checking that `rt` owns this matrix and it was not freed. */
  pointer(rt: Runtime, name: string): number {
    if (rt !== this.#rt) throw new BitstackError('ARG', `${name} is a WasmMatrix of another bitstack-wasm instance`);
    if (this.#ptr === 0) throw new BitstackError('ARG', `${name} is a WasmMatrix that was freed`);
    return this.#ptr;
  }

  /** A copy of the data (rows·cols values, row-major). */
  toArray(): Float32Array {
    return this.#rt.f32(this.pointer(this.#rt, 'matrix'), this.length).slice();
  }

  /** Gives the memory back. Idempotent; the matrix is unusable afterwards. */
  free(): void {
    if (this.#ptr === 0) return;
    this.#rt.freeResident(this.#ptr, this.#size);
    this.#ptr = 0;
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
