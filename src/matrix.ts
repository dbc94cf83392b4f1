import { BitstackError } from './errors.js';
import type { Runtime } from './runtime.js';

/**
 * A row-major f32 matrix that stays in the module's memory between calls, as a
 * model's weights do: pass it wherever an operation takes a Float32Array operand
 * to skip the copy into wasm memory. Create with `bw.matrix(data, rows, cols)`;
 * call `free()` when done (or `using m = bw.matrix(...)` where supported).
 * Used as the B operand of a matrix product (m, n > 1), it also keeps B packed
 * for the micro-kernel (about as many bytes again), so later products skip
 * packing; `bw.matrix(data, rows, cols, { prepack: false })` turns that off.
 */
export class WasmMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly #rt: Runtime;
  #ptr: number;
  readonly #size: number;
  /** B operand packed for the GEMM micro-kernel, for one (k, n, transB); see `packedB`. */
  #packed: { ptr: number; size: number; key: string } | null = null;
  /** Whether products that use this matrix as B keep a packed copy of it (see `bw.matrix`). */
  readonly prepack: boolean;

  /** @internal Use `bw.matrix()`. */
  constructor(rt: Runtime, data: Float32Array, rows: number, cols: number, prepack = true) {
    const block = rt.allocResident(data.length * 4);
    rt.f32(block.ptr, data.length).set(data);
    this.#rt = rt;
    this.#ptr = block.ptr;
    this.#size = block.size;
    this.rows = rows;
    this.cols = cols;
    this.prepack = prepack;
  }

  /**
   * @internal The matrix as op(B) (k×n) packed into the GEMM's panel layout: packed on
   * first use, kept until the shape or transpose changes, the matrix is written, or freed.
   * Call outside an operation's arena scope.
   */
  packedB(rt: Runtime, k: number, n: number, transB: boolean): number {
    const ptr = this.pointer(rt, 'b');
    const key = `${k}x${n}${transB ? 'T' : 'N'}`;
    if (this.#packed?.key === key) return this.#packed.ptr;
    this.dropPacked();
    const block = rt.allocResident(rt.exports.gemm_packed_b_bytes(k, n));
    rt.exports.gemm_pack_b(ptr, k, n, transB ? 1 : 0, block.ptr);
    this.#packed = { ...block, key };
    return block.ptr;
  }

  /** @internal Forgets the packed copy (the data is about to change, or the matrix is freed). */
  dropPacked(): void {
    if (this.#packed) {
      this.#rt.freeResident(this.#packed.ptr, this.#packed.size);
      this.#packed = null;
    }
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
    this.dropPacked();
    this.#rt.freeResident(this.#ptr, this.#size);
    this.#ptr = 0;
  }
}

// `using m = bw.matrix(…)` frees at the end of the scope where the host has Symbol.dispose. Added at
// run time, not in the class body, so the published types compile without the esnext.disposable lib.
if (typeof (Symbol as { dispose?: symbol }).dispose === 'symbol') {
  Object.defineProperty(WasmMatrix.prototype, (Symbol as unknown as { dispose: symbol }).dispose, {
    value(this: WasmMatrix) { this.free(); }, writable: true, configurable: true,
  });
}
