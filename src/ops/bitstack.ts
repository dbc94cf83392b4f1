// 1-bit residual stacking (BitStack, arXiv 2410.23918): decomposition into
// packed sign matrices times rank-k magnitudes, and products run straight from
// the packed blocks. Blocks live in wasm memory (resident) until `free()`.

import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { dim, f32, intOption } from './validate.js';

/** Progress of a decomposition, reported after every block. */
export interface DecomposeProgress {
  matrix: string;         // opts.name ('' when not given)
  block: number;          // blocks done (1…blocks)
  blocks: number;
  elapsed: number;        // ms since the start
  relativeError: number;  // ‖W − W_b‖_F/‖W‖_F after this block (in the scaled space when `scale` is given)
}

/** Options of {@link decompose}. */
export interface DecomposeOptions {
  /** Rank k of each block's magnitude (1…16; the LUT kernel holds 16 ranks a table entry). Default 16. */
  rank?: number;
  /** Number of residual blocks. Default 16. */
  blocks?: number;
  /** Per-input-column activation scale s (length n): W·diag(s) is decomposed, and undone on use. */
  scale?: Float32Array;
  /** SVD of each block's |R|: 'randomized' (default) or 'exact' (full Jacobi; small matrices). */
  svd?: 'randomized' | 'exact';
  /**
   * Range finder of the randomized SVD (see `bw.svd`). 'krylov' (default): block Krylov iteration,
   * blocks of rank + oversample columns (rounded up to 8), `powerIters` steps. 'subspace': subspace
   * iteration on rank + oversample columns, `powerIters` power iterations.
   * Errors compound over blocks, so the general rank-k defaults of `bw.svd` are not accurate enough
   * here. Measured on the bundled model's 7 trained matrices (bench/bitstack.mjs), worst ratio of
   * the error after b blocks to exact-SVD BitStack over b = 1…16: krylov 4 steps, oversample 4
   * (blocks of 24): ≤ 1.005×; subspace q = 6, oversample 24 (the previous default): up to 1.016×,
   * at 1.7× the time on 4096×4096.
   */
  rangeFinder?: 'krylov' | 'subspace';
  /** Krylov steps (rangeFinder 'krylov', default 4) or power iterations ('subspace', default 6). */
  powerIters?: number;
  /** Oversampling: 'krylov' default 4 (blocks of 24 columns for rank 16), 'subspace' default 24 (ℓ = 40). */
  oversample?: number;
  /** Seed of the randomized SVD's sketches (block i uses seed + i). Default 0. */
  seed?: number;
  /** Subtract the f16-rounded factors from the residual (default true), or the unrounded f32 ones (the reference). */
  subtractRounded?: boolean;
  /** Name of the matrix, passed back in progress reports (e.g. its tensor name). Default ''. */
  name?: string;
  onProgress?: (p: DecomposeProgress) => void;
}

interface Block {
  signs: { ptr: number; size: number };   // ceil(m·n/8) + 1 bytes (one byte of padding for unaligned reads)
  a16: { ptr: number; size: number };     // m×k f16
  b16: { ptr: number; size: number };     // k×n f16
  a32: { ptr: number; size: number };     // m×k f32, decoded once for the LUT kernel
  b32: { ptr: number; size: number };     // k×n f32
}

/** The packed parts of one block, as stored in files. */
export interface BlockData {
  signs: Uint8Array;   // ceil(m·n/8) bytes
  a: Uint16Array;      // m×k float16 bits
  b: Uint16Array;      // k×n float16 bits
}

function allocBlock(rt: Runtime, m: number, n: number, k: number): Block {
  return {
    signs: rt.allocResident(Math.ceil(m * n / 8) + 1),
    a16: rt.allocResident(2 * m * k),
    b16: rt.allocResident(2 * k * n),
    a32: rt.allocResident(4 * m * k),
    b32: rt.allocResident(4 * k * n),
  };
}

function freeBlock(rt: Runtime, bl: Block): void {
  for (const part of [bl.signs, bl.a16, bl.b16, bl.a32, bl.b32]) rt.freeResident(part.ptr, part.size);
}

/** After the packed parts are in place: the padding byte, and A and B decoded to f32 for the LUT kernel. */
function finishBlock(rt: Runtime, bl: Block, m: number, n: number, k: number): void {
  rt.u8(bl.signs.ptr + Math.ceil(m * n / 8), 1)[0] = 0; // the padding byte unaligned reads may touch
  rt.exports.f16_to_f32(bl.a16.ptr, m * k, bl.a32.ptr);
  rt.exports.f16_to_f32(bl.b16.ptr, k * n, bl.b32.ptr);
}

/** A weight matrix as a stack of BitStack blocks; any prefix of b blocks is a valid weight W_b. */
export class StackedMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  /** ‖W − W_b‖_F/‖W‖_F after b = 1…blockCount blocks (scaled space when a scale was given); NaN when unknown (read from a file without them). */
  readonly relativeErrors: Float64Array;
  /** ‖W·diag(s)‖_F of the decomposed matrix (NaN when unknown). */
  readonly norm: number;
  readonly #rt: Runtime;
  #blocks: Block[];
  readonly #invScale: Float32Array | null;

  /** @internal Use `bw.decompose()`. */
  constructor(rt: Runtime, rows: number, cols: number, rank: number, blocks: Block[], errors: Float64Array, invScale: Float32Array | null, norm: number) {
    this.#rt = rt;
    this.norm = norm;
    this.rows = rows;
    this.cols = cols;
    this.rank = rank;
    this.#blocks = blocks;
    this.relativeErrors = errors;
    this.#invScale = invScale;
  }

  get blockCount(): number {
    return this.#blocks.length;
  }

  /** The per-column scale s given to decompose (null when none). */
  get scale(): Float32Array | null {
    return this.#invScale ? this.#invScale.map((v) => 1 / v) : null;
  }

  /** Bytes of one block as stored. */
  get blockBytes(): number {
    return Math.ceil(this.rows * this.cols / 8) + 2 * this.rank * (this.rows + this.cols);
  }

  /** Copies of block i's packed parts (signs, A and B as float16 bits). */
  blockData(i: number): BlockData {
    intOption('i', i, 0, 0, this.#blocks.length - 1);
    const bl = this.#blocks[i], m = this.rows, n = this.cols, k = this.rank, rt = this.#rt;
    return {
      signs: rt.u8(bl.signs.ptr, Math.ceil(m * n / 8)).slice(),
      a: new Uint16Array(rt.exports.memory.buffer, bl.a16.ptr, m * k).slice(),
      b: new Uint16Array(rt.exports.memory.buffer, bl.b16.ptr, k * n).slice(),
    };
  }

  /** @internal A StackedMatrix from stored blocks (a file). */
  static fromBlocks(
    rt: Runtime, rows: number, cols: number, rank: number, data: BlockData[],
    errors: Float64Array, scale: Float32Array | null, norm: number,
  ): StackedMatrix {
    const made: Block[] = [];
    try {
      for (const d of data) {
        const bl = allocBlock(rt, rows, cols, rank);
        made.push(bl);
        rt.u8(bl.signs.ptr, d.signs.length).set(d.signs);
        new Uint16Array(rt.exports.memory.buffer, bl.a16.ptr, d.a.length).set(d.a);
        new Uint16Array(rt.exports.memory.buffer, bl.b16.ptr, d.b.length).set(d.b);
        finishBlock(rt, bl, rows, cols, rank);
      }
    } catch (e) {
      for (const bl of made) freeBlock(rt, bl);
      throw e;
    }
    return new StackedMatrix(rt, rows, cols, rank, made, errors, scale ? scale.map((v) => 1 / v) : null, norm);
  }

  #count(b: number | undefined): number {
    if (!this.#blocks.length && this.rows) throw new BitstackError('ARG', 'this StackedMatrix was freed');
    return b === undefined ? this.#blocks.length : intOption('b', b, 0, 0, this.#blocks.length);
  }

  /** Bytes of the first b blocks as stored: m·n/8 of signs + 2·k·(m+n) of f16 factors each. */
  byteLength(b?: number): number {
    const count = this.#count(b);
    return count * (Math.ceil(this.rows * this.cols / 8) + 2 * this.rank * (this.rows + this.cols));
  }

  /** Pointer triples (signs, A f32, B f32) of the first `count` blocks, in the arena (call inside a scope). */
  #blockList(count: number): number {
    const rt = this.#rt;
    const list = rt.alloc(12 * Math.max(count, 1));
    const ptrs = new Uint32Array(rt.exports.memory.buffer, list, 3 * count);
    this.#blocks.slice(0, count).forEach((bl, q) => { ptrs[3 * q] = bl.signs.ptr; ptrs[3 * q + 1] = bl.a32.ptr; ptrs[3 * q + 2] = bl.b32.ptr; });
    return list;
  }

  /** Dense W_b (m×n) from the first b blocks (default all), scale undone; into `out` if given. */
  reconstruct(b?: number, out?: Float32Array): Float32Array {
    const count = this.#count(b);
    const m = this.rows, n = this.cols, rt = this.#rt;
    const w = out === undefined ? new Float32Array(m * n) : f32('out', out, m * n, `m×n (${m}×${n})`);
    rt.scoped(() => {
      const pw = rt.alloc(4 * m * n);
      rt.check(rt.exports.bitstack_reconstruct(this.#blockList(count), count, m, n, this.rank, pw), 'reconstruct');
      w.set(rt.f32(pw, m * n));
    });
    if (this.#invScale) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[i * n + j] *= this.#invScale[j];
    return w;
  }

  /** y = W_b·x (x: n, y: m) straight from the packed blocks: W_b is never built. */
  matvec(x: Float32Array, b?: number): Float32Array {
    const count = this.#count(b);
    const m = this.rows, n = this.cols, rt = this.#rt;
    f32('x', x, n, `n (${n})`);
    return rt.scoped(() => {
      const px = rt.copyIn(x);
      rt.checkFinite('x', x, px);
      if (this.#invScale) {
        const v = rt.f32(px, n);
        for (let j = 0; j < n; j++) v[j] *= this.#invScale[j];
      }
      const py = rt.alloc(4 * m);
      rt.f32(py, m).fill(0);
      const scratch = rt.alloc(rt.exports.bitstack_lut_scratch(m));
      for (const bl of this.#blocks.slice(0, count)) {
        rt.exports.bitstack_lut_gemv(bl.signs.ptr, m, n, bl.a32.ptr, bl.b32.ptr, this.rank, px, py, scratch);
      }
      return rt.f32(py, m).slice();
    });
  }

  /**
   * Y = W_b·X for X (n×batch, row-major), Y m×batch, W_b never held whole: below 8 columns each
   * column goes through the LUT product; from 8 on, W_b is rebuilt 32 rows at a time in cache and
   * the GEMM micro-kernel multiplies the tile with X.
   */
  matmul(x: Float32Array, batch: number, b?: number): Float32Array {
    batch = dim('batch', batch);
    const count = this.#count(b);
    const m = this.rows, n = this.cols, rt = this.#rt;
    f32('x', x, n * batch, `n×batch (${n}×${batch})`);
    if (batch < 8) {
      const y = new Float32Array(m * batch);
      const col = new Float32Array(n);
      for (let c = 0; c < batch; c++) {
        for (let j = 0; j < n; j++) col[j] = x[j * batch + c];
        const yc = this.matvec(col, count);
        for (let i = 0; i < m; i++) y[i * batch + c] = yc[i];
      }
      return y;
    }
    return rt.scoped(() => {
      const px = rt.copyIn(x);
      rt.checkFinite('x', x, px);
      if (this.#invScale) {
        const v = rt.f32(px, n * batch);
        for (let j = 0; j < n; j++) for (let c = 0; c < batch; c++) v[j * batch + c] *= this.#invScale[j];
      }
      const py = rt.alloc(4 * m * batch);
      rt.check(rt.exports.bitstack_matmul(this.#blockList(count), count, m, n, this.rank, px, batch, py), 'matmul');
      return rt.f32(py, m * batch).slice();
    });
  }

  /** Gives the blocks' memory back; the matrix is unusable afterwards. */
  free(): void {
    for (const bl of this.#blocks) freeBlock(this.#rt, bl);
    this.#blocks = [];
  }
}

// Codes of bitstack_block's method argument (assembly/bitstack/decompose.ts).
const METHOD_SUBSPACE = 0, METHOD_EXACT = 1, METHOD_KRYLOV = 2;
// Block Krylov defaults: blocks of 16 + 4 → 24 columns, 4 steps (bench/bitstack.mjs, README).
const KRYLOV_DEPTH = 4, KRYLOV_OVERSAMPLE = 4;

/** Decomposes the m×n weight w (row-major f32) into `blocks` BitStack blocks of rank `rank`. */
export function decompose(rt: Runtime, w: Float32Array, m: number, n: number, opts: DecomposeOptions = {}): StackedMatrix {
  const steps = decomposeSteps(rt, w, m, n, opts);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

/** Options of {@link decomposeAsync}. */
export interface DecomposeAsyncOptions extends DecomposeOptions {
  /** Cancels the decomposition between blocks: the promise rejects with an `ABORTED` BitstackError. */
  signal?: AbortSignal;
}

/**
 * decompose() that gives the event loop back between blocks (a macrotask each), so that a page
 * stays responsive and progress can be drawn, and that can be cancelled through `opts.signal`
 * (its blocks and residual are freed). Same arguments, same result bits.
 */
export async function decomposeAsync(
  rt: Runtime, w: Float32Array, m: number, n: number, opts: DecomposeAsyncOptions = {},
): Promise<StackedMatrix> {
  const signal = opts.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new BitstackError('ARG', 'opts.signal must be an AbortSignal');
  }
  const aborted = () => new BitstackError('ABORTED', 'decompose was aborted', { cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const steps = decomposeSteps(rt, w, m, n, opts);
  let s = steps.next();
  while (!s.done) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    s = signal?.aborted ? steps.throw(aborted()) : steps.next();
  }
  return s.value;
}

/** decompose() as steps: yields after every block but the last, returns the matrix. */
function* decomposeSteps(
  rt: Runtime, w: Float32Array, m: number, n: number, opts: DecomposeOptions,
): Generator<void, StackedMatrix, void> {
  m = dim('m', m);
  n = dim('n', n);
  const k = intOption('opts.rank', opts.rank, 16, 1, Math.min(16, m, n));
  const blocks = intOption('opts.blocks', opts.blocks, 16, 1, 1024);
  const rangeFinder = opts.rangeFinder ?? 'krylov';
  if (rangeFinder !== 'krylov' && rangeFinder !== 'subspace') {
    throw new BitstackError('ARG', `opts.rangeFinder must be 'krylov' or 'subspace', got ${String(opts.rangeFinder)}`);
  }
  const krylov = rangeFinder === 'krylov';
  const powerIters = intOption('opts.powerIters', opts.powerIters, krylov ? KRYLOV_DEPTH : 6, 0, 1000);
  const oversample = intOption('opts.oversample', opts.oversample, krylov ? KRYLOV_OVERSAMPLE : 24, 0, 1 << 20);
  const seed = intOption('opts.seed', opts.seed, 0, 0, 2 ** 32 - 1 - blocks);
  const exact = (opts.svd ?? 'randomized') === 'exact';
  if (opts.svd !== undefined && opts.svd !== 'exact' && opts.svd !== 'randomized') {
    throw new BitstackError('ARG', `opts.svd must be 'randomized' or 'exact', got ${String(opts.svd)}`);
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new BitstackError('ARG', 'opts.onProgress must be a function');
  if (opts.name !== undefined && typeof opts.name !== 'string') throw new BitstackError('ARG', 'opts.name must be a string');
  const matrix = opts.name ?? '';
  if (16 * m * n > 2 ** 32 - 2 ** 24) throw new BitstackError('TOO_LARGE', `decompose of ${m}×${n} does not fit wasm32 memory`);
  f32('w', w, m * n, `m×n (${m}×${n})`);
  let invScale: Float32Array | null = null;
  if (opts.scale !== undefined) {
    const s = f32('opts.scale', opts.scale, n, `n (${n})`);
    if (s.some((v) => !(v > 0) || !Number.isFinite(v))) throw new BitstackError('ARG', 'opts.scale must hold positive finite values');
    invScale = s.map((v) => 1 / v);
  }
  const subtractRounded = opts.subtractRounded ?? true;
  const start = Date.now();
  // The residual stays resident across blocks.
  const residual = rt.allocResident(4 * m * n);
  const made: Block[] = [];
  const errors = new Float64Array(blocks);
  let total = 0;
  try {
    const r = rt.f32(residual.ptr, m * n);
    r.set(w);
    rt.checkFinite('w', w, residual.ptr);
    if (opts.scale) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) r[i * n + j] *= opts.scale[j];
    const scaled = rt.f32(residual.ptr, m * n);
    for (let i = 0; i < scaled.length; i++) total += scaled[i] * scaled[i];
    for (let q = 0; q < blocks; q++) {
      const bl = allocBlock(rt, m, n, k);
      made.push(bl);
      const norm2 = rt.scoped(() => {
        const out = rt.alloc(16);
        rt.check(rt.exports.bitstack_block(residual.ptr, m, n, k, exact ? METHOD_EXACT : krylov ? METHOD_KRYLOV : METHOD_SUBSPACE, powerIters, oversample, seed + q,
          subtractRounded ? 1 : 0, bl.signs.ptr, bl.a16.ptr, bl.b16.ptr, out), 'decompose');
        return rt.f64(out, 1)[0];
      });
      finishBlock(rt, bl, m, n, k);
      errors[q] = total > 0 ? Math.sqrt(norm2 / total) : 0;
      opts.onProgress?.({ matrix, block: q + 1, blocks, elapsed: Date.now() - start, relativeError: errors[q] });
      if (q + 1 < blocks) yield;
    }
  } catch (e) {
    for (const bl of made) freeBlock(rt, bl);
    throw e;
  } finally {
    rt.freeResident(residual.ptr, residual.size);
  }
  return new StackedMatrix(rt, m, n, k, made, errors, invScale, Math.sqrt(total));
}

/** Packs the signs of x (MSB first, set bit = +1, sign(0) = +1): ceil(length/8) bytes. */
export function packSigns(rt: Runtime, x: Float32Array): Uint8Array {
  if (!(x instanceof Float32Array)) throw new BitstackError('ARG', 'x must be a Float32Array');
  return rt.scoped(() => {
    const px = rt.copyIn(x), out = rt.alloc(Math.ceil(x.length / 8) || 1);
    rt.exports.pack_signs(px, x.length, out);
    return rt.u8(out, Math.ceil(x.length / 8)).slice();
  });
}

/** f32 → IEEE half (or, with `bfloat`, bfloat16) bits, round to nearest even, in wasm. */
export function toFloat16(rt: Runtime, x: Float32Array, bfloat = false): Uint16Array {
  if (!(x instanceof Float32Array)) throw new BitstackError('ARG', 'x must be a Float32Array');
  return rt.scoped(() => {
    const px = rt.copyIn(x), out = rt.alloc(2 * x.length || 2);
    (bfloat ? rt.exports.f32_to_bf16 : rt.exports.f32_to_f16)(px, x.length, out);
    return new Uint16Array(rt.exports.memory.buffer, out, x.length).slice();
  });
}

/** IEEE half (or, with `bfloat`, bfloat16) bits → f32, in wasm. */
export function fromFloat16(rt: Runtime, h: Uint16Array, bfloat = false): Float32Array {
  if (!(h instanceof Uint16Array)) throw new BitstackError('ARG', 'h must be a Uint16Array');
  return rt.scoped(() => {
    const ph = rt.alloc(2 * h.length || 2), out = rt.alloc(4 * h.length || 4);
    new Uint16Array(rt.exports.memory.buffer, ph, h.length).set(h);
    (bfloat ? rt.exports.bf16_to_f32 : rt.exports.f16_to_f32)(ph, h.length, out);
    return rt.f32(out, h.length).slice();
  });
}
