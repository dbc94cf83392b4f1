// 1-bit residual stacking (BitStack, arXiv 2410.23918): decomposition into
// packed sign matrices times rank-k magnitudes, and products run straight from
// the packed blocks. Blocks live in wasm memory (resident) until `free()`.

import { MAX_ARENA_BYTES, type Runtime } from '../runtime.js';
import { JOB_LUT_ROWS, JOB_TILES_ROWS, partsFor, splitBounds } from '../threads.js';
import { BitstackError } from '../errors.js';
import { boolOption, dim, f32, intOption, options } from './validate.js';

/** Progress of a decomposition, reported after every block. */
export interface DecomposeProgress {
  matrix: string;         // opts.name ('' when not given)
  block: number;          // blocks done (1…blocks)
  blocks: number;
  elapsed: number;        // ms since the start
  relativeError: number;  // ‖W − W_b‖_F/‖W‖_F after this block (in the scaled space when `scale` is given)
}

/** How a block's factors A (m×k) and B (k×n) are stored. */
export type FactorType = 'int8' | 'f16';

/** Options of {@link decompose}. */
export interface DecomposeOptions {
  /**
   * Rank k of each block's magnitude: a number (1…32, at most min(m, n)), or 'auto' (default):
   * each block takes the rank from `ranks` that removes most of ‖W − W_b‖² per stored byte
   * (Σ σ_c² of the kept singular values of |R| over the block's bytes; the SVD is taken once, at
   * the largest candidate).
   */
  rank?: number | 'auto';
  /** Candidate ranks of rank 'auto' (each 1…32; those above min(m, n) are dropped). Default [1, 2, 4, 8, 16, 32]. */
  ranks?: number[];
  /**
   * Storage of the factors: 'int8' (default): symmetric int8, one f16 scale per column of A and
   * per row of B (k·(m+n) + 4k bytes); 'f16': IEEE half (2·k·(m+n) bytes, the reference's layout).
   */
  factors?: FactorType;
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
  /** Krylov steps (rangeFinder 'krylov': default 4, or 3 when the SVD is taken above rank 16, as rank 'auto' does) or power iterations ('subspace', default 6). */
  powerIters?: number;
  /** Oversampling: 'krylov' default 4 (blocks of 24 columns for rank 16), 'subspace' default 24 (ℓ = 40). */
  oversample?: number;
  /** Seed of the randomized SVD's sketches (block i uses seed + i). Default 0. */
  seed?: number;
  /** Subtract the stored (rounded) factors from the residual (default true), or the unrounded f32 ones (the reference). */
  subtractRounded?: boolean;
  /** Name of the matrix, passed back in progress reports (e.g. its tensor name). Default ''. */
  name?: string;
  onProgress?: (p: DecomposeProgress) => void;
}

type Part = { ptr: number; size: number };

interface Block {
  k: number;
  signs: Part;          // ceil(m·n/8) + 1 bytes (one byte of padding for unaligned reads)
  a: Part;              // m×k stored: f16 bits or int8
  b: Part;              // k×n stored
  scales: Part | null;  // int8: k f16 scales of A's columns, then k of B's rows
  a32: Part;            // m×k f32, decoded once for the products
  b32: Part;            // k×n f32
}

/** A StackedMatrix as plain data: see {@link StackedMatrix.export} and `bw.restore()`. */
export interface StackedMatrixData {
  rows: number;
  cols: number;
  factors: FactorType;
  norm: number;
  relativeErrors: Float64Array;
  scale: Float32Array | null;
  blocks: BlockData[];
}

/** A StackedMatrix from plain data (see StackedMatrix.export), every part checked. */
export function restore(rt: Runtime, data: StackedMatrixData): StackedMatrix {
  const d = options('data', data);
  const rows = dim('data.rows', d.rows), cols = dim('data.cols', d.cols);
  if (d.factors !== 'int8' && d.factors !== 'f16') throw new BitstackError('ARG', `data.factors must be 'int8' or 'f16', got ${String(d.factors)}`);
  if (!Array.isArray(d.blocks) || !d.blocks.length) throw new BitstackError('ARG', 'data.blocks must be a non-empty array');
  if (!(d.relativeErrors instanceof Float64Array) || d.relativeErrors.length !== d.blocks.length) throw new BitstackError('ARG', 'data.relativeErrors must be a Float64Array, one per block');
  if (d.scale !== null && !(d.scale instanceof Float32Array && d.scale.length === cols)) throw new BitstackError('ARG', `data.scale must be null or a Float32Array of ${cols}`);
  const int8 = d.factors === 'int8';
  d.blocks.forEach((b, i) => {
    const k = b?.a?.length / rows;
    const ok = b && b.signs instanceof Uint8Array && b.signs.length === Math.ceil(rows * cols / 8)
      && Number.isInteger(k) && k >= 1 && k <= 32
      && (int8 ? b.a instanceof Int8Array && b.b instanceof Int8Array && b.aScale instanceof Uint16Array && b.aScale.length === k && b.bScale instanceof Uint16Array && b.bScale.length === k
        : b.a instanceof Uint16Array && b.b instanceof Uint16Array)
      && b.b.length === k * cols;
    if (!ok) throw new BitstackError('ARG', `data.blocks[${i}] does not hold a ${rows}×${cols} ${d.factors} block of rank 1…32`);
  });
  return StackedMatrix.fromBlocks(rt, rows, cols, d.factors, d.blocks, d.relativeErrors.slice(), d.scale, Number(d.norm));
}

/** The packed parts of one block, as stored in files. Its rank is a.length / rows. */
export interface BlockData {
  signs: Uint8Array;           // ceil(m·n/8) bytes
  a: Uint16Array | Int8Array;  // m×k: float16 bits ('f16' factors) or int8 ('int8')
  b: Uint16Array | Int8Array;  // k×n
  /** 'int8' factors: the f16 bits of the k scales of A's columns. */
  aScale?: Uint16Array;
  /** 'int8' factors: the f16 bits of the k scales of B's rows. */
  bScale?: Uint16Array;
}

function allocBlock(rt: Runtime, m: number, n: number, k: number, factors: FactorType): Block {
  const made: Part[] = [];
  const take = (bytes: number) => { const p = rt.allocResident(bytes); made.push(p); return p; };
  try {
    const per = factors === 'int8' ? 1 : 2;
    return {
      k, signs: take(Math.ceil(m * n / 8) + 1), a: take(per * m * k), b: take(per * k * n),
      scales: factors === 'int8' ? take(4 * k) : null, a32: take(4 * m * k), b32: take(4 * k * n),
    };
  } catch (e) {
    for (const p of made) rt.freeResident(p.ptr, p.size);
    throw e;
  }
}

function freeBlock(rt: Runtime, bl: Block): void {
  for (const part of [bl.signs, bl.a, bl.b, bl.scales, bl.a32, bl.b32]) if (part) rt.freeResident(part.ptr, part.size);
}

/** After the stored parts are in place: the padding byte, and A and B decoded to f32 for the products. */
function finishBlock(rt: Runtime, bl: Block, m: number, n: number): void {
  const k = bl.k;
  rt.u8(bl.signs.ptr + Math.ceil(m * n / 8), 1)[0] = 0; // the padding byte unaligned reads may touch
  if (bl.scales) {
    rt.exports.bitstack_decode_i8(bl.a.ptr, bl.scales.ptr, bl.b.ptr, bl.scales.ptr + 2 * k, m, n, k, bl.a32.ptr, bl.b32.ptr);
  } else {
    rt.exports.f16_to_f32(bl.a.ptr, m * k, bl.a32.ptr);
    rt.exports.f16_to_f32(bl.b.ptr, k * n, bl.b32.ptr);
  }
}

/** A block in wasm memory from its stored parts (allocated, copied in, decoded; freed again on failure). */
function residentBlock(rt: Runtime, rows: number, cols: number, factors: FactorType, d: BlockData): Block {
  const k = d.a.length / rows;
  const bl = allocBlock(rt, rows, cols, k, factors);
  try {
    const buf = rt.exports.memory.buffer;
    rt.u8(bl.signs.ptr, d.signs.length).set(d.signs);
    rt.u8(bl.a.ptr, d.a.byteLength).set(new Uint8Array(d.a.buffer, d.a.byteOffset, d.a.byteLength));
    rt.u8(bl.b.ptr, d.b.byteLength).set(new Uint8Array(d.b.buffer, d.b.byteOffset, d.b.byteLength));
    if (bl.scales) {
      new Uint16Array(buf, bl.scales.ptr, k).set(d.aScale!);
      new Uint16Array(buf, bl.scales.ptr + 2 * k, k).set(d.bScale!);
    }
    finishBlock(rt, bl, rows, cols);
    return bl;
  } catch (e) {
    freeBlock(rt, bl);
    throw e;
  }
}

/** A weight matrix as a stack of BitStack blocks; any prefix of b blocks is a valid weight W_b. */
export class StackedMatrix {
  readonly rows: number;
  readonly cols: number;
  /** How the factors are stored. */
  readonly factors: FactorType;
  /** ‖W − W_b‖_F/‖W‖_F after b = 1…blockCount blocks (scaled space when a scale was given); NaN when unknown (read from a file without them). */
  readonly relativeErrors: Float64Array;
  /** ‖W·diag(s)‖_F of the decomposed matrix (NaN when unknown). */
  readonly norm: number;
  readonly #rt: Runtime;
  #blocks: Block[];
  readonly #ranks: number[];
  readonly #bytes: number[];
  readonly #invScale: Float32Array | null;

  /** @internal Use `bw.decompose()`. */
  constructor(rt: Runtime, rows: number, cols: number, factors: FactorType, blocks: Block[], errors: Float64Array, invScale: Float32Array | null, norm: number) {
    this.#rt = rt;
    this.norm = norm;
    this.rows = rows;
    this.cols = cols;
    this.factors = factors;
    this.#blocks = blocks;
    this.#ranks = blocks.map((b) => b.k);
    const code = factors === 'int8' ? rt.abi.FACTORS_I8 : rt.abi.FACTORS_F16;
    this.#bytes = this.#ranks.map((k) => rt.exports.bitstack_block_bytes(rows, cols, k, code));
    this.relativeErrors = errors;
    this.#invScale = invScale;
  }

  get blockCount(): number {
    return this.#blocks.length;
  }

  /** The rank of each block (they differ with rank 'auto'). */
  get ranks(): number[] {
    return this.#ranks.slice();
  }

  /** The largest rank of the blocks. */
  get rank(): number {
    return Math.max(0, ...this.#ranks);
  }

  /** The per-column scale s given to decompose (null when none). */
  get scale(): Float32Array | null {
    return this.#invScale ? this.#invScale.map((v) => 1 / v) : null;
  }

  /** Bytes of block 0 as stored (blocks of rank 'auto' differ: see {@link StackedMatrix.blockByteLength}). */
  get blockBytes(): number {
    return this.blockByteLength(0);
  }

  /** Bytes of block i as stored: packed signs, factors, int8 scales. */
  blockByteLength(i: number): number {
    intOption('i', i, 0, 0, Math.max(0, this.#ranks.length - 1));
    return this.#bytes[i] ?? 0;
  }

  /** Copies of block i's stored parts. */
  blockData(i: number): BlockData {
    intOption('i', i, 0, 0, this.#blocks.length - 1);
    const bl = this.#blocks[i], m = this.rows, n = this.cols, k = bl.k, rt = this.#rt, buf = rt.exports.memory.buffer;
    const signs = rt.u8(bl.signs.ptr, Math.ceil(m * n / 8)).slice();
    if (bl.scales) {
      return {
        signs, a: new Int8Array(buf, bl.a.ptr, m * k).slice(), b: new Int8Array(buf, bl.b.ptr, k * n).slice(),
        aScale: new Uint16Array(buf, bl.scales.ptr, k).slice(), bScale: new Uint16Array(buf, bl.scales.ptr + 2 * k, k).slice(),
      };
    }
    return { signs, a: new Uint16Array(buf, bl.a.ptr, m * k).slice(), b: new Uint16Array(buf, bl.b.ptr, k * n).slice() };
  }

  /** @internal A StackedMatrix from stored blocks (a file): every block's parts already checked against rows, cols and factors. */
  static fromBlocks(
    rt: Runtime, rows: number, cols: number, factors: FactorType, data: BlockData[],
    errors: Float64Array, scale: Float32Array | null, norm: number,
  ): StackedMatrix {
    const made: Block[] = [];
    try {
      for (const d of data) made.push(residentBlock(rt, rows, cols, factors, d));
    } catch (e) {
      for (const bl of made) freeBlock(rt, bl);
      throw e;
    }
    return new StackedMatrix(rt, rows, cols, factors, made, errors, scale ? scale.map((v) => 1 / v) : null, norm);
  }

  /** @internal Adds one more block (a stack still loading): allocated, decoded, then visible to products at once. */
  appendBlock(d: BlockData): void {
    if (this.#blocks.length !== this.#ranks.length) throw new BitstackError('ARG', 'this StackedMatrix was freed while its stack was loading');
    const rt = this.#rt, rows = this.rows, cols = this.cols, k = d.a.length / rows;
    const bl = residentBlock(rt, rows, cols, this.factors, d);
    this.#blocks.push(bl);
    this.#ranks.push(k);
    this.#bytes.push(rt.exports.bitstack_block_bytes(rows, cols, k, this.factors === 'int8' ? rt.abi.FACTORS_I8 : rt.abi.FACTORS_F16));
  }

  #count(b: number | undefined): number {
    if (!this.#blocks.length && this.rows) throw new BitstackError('ARG', 'this StackedMatrix was freed');
    return b === undefined ? this.#blocks.length : intOption('b', b, 0, 0, this.#blocks.length);
  }

  /** Bytes of the first b blocks (default all) as stored: packed signs, factors and int8 scales of each. */
  byteLength(b?: number): number {
    const count = this.#count(b);
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += this.#bytes[i];
    return bytes;
  }

  /** The first `count` blocks as 4 u32 each (signs, A f32, B f32, k), in the arena (call inside a scope). */
  #blockList(count: number): number {
    const rt = this.#rt;
    const list = rt.alloc(16 * Math.max(count, 1));
    const ptrs = new Uint32Array(rt.exports.memory.buffer, list, 4 * count);
    this.#blocks.slice(0, count).forEach((bl, q) => { ptrs.set([bl.signs.ptr, bl.a32.ptr, bl.b32.ptr, bl.k], 4 * q); });
    return list;
  }

  /**
   * On the threads build, reconstruct (batch 0) or the batched product split by rows (whole tiles)
   * across the threads, into `out`; false (nothing done) when it is not worth it or not there.
   */
  #tiles(count: number, px: number, batch: number, out: number): boolean {
    const rt = this.#rt, m = this.rows, n = this.cols, ex = rt.exports;
    const unit = ex.bitstack_tiles_row_unit();
    const parts = partsFor(rt.pool, m * n * Math.max(count, batch), Math.floor(m / unit));
    if (parts < 2) return false;
    const list = this.#blockList(count);
    const each = ex.bitstack_tiles_scratch_bytes(n, batch);
    if (ex.memory.buffer.byteLength + parts * each > MAX_ARENA_BYTES) return false; // one thread's scratch fits better
    rt.runParts(splitBounds(m, parts, unit), each, (i0, i1, scratch) => [JOB_TILES_ROWS, list, count, m, n, px, batch, out, scratch, i0, i1]);
    return true;
  }

  /** Dense W_b (m×n) from the first b blocks (default all), scale undone; into `out` if given. */
  reconstruct(b?: number, out?: Float32Array): Float32Array {
    const count = this.#count(b);
    const m = this.rows, n = this.cols, rt = this.#rt;
    const w = out === undefined ? new Float32Array(m * n) : f32('out', out, m * n, `m×n (${m}×${n})`);
    rt.fits(`reconstruct of ${m}×${n}`, 4 * m * n + 16 * count + 2 * 64 + rt.exports.bitstack_tiles_scratch_bytes(n, 0));
    rt.scoped(() => {
      const pw = rt.alloc(4 * m * n);
      this.#tiles(count, 0, 0, pw) || rt.check(rt.exports.bitstack_reconstruct(this.#blockList(count), count, m, n, pw), 'reconstruct');
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
      // On the threads build, a large product is split by rows (16 a part boundary: whole cache lines of y).
      const parts = partsFor(rt.pool, m * n * count, Math.floor(m / 16));
      if (parts > 1) {
        const list = this.#blockList(count);
        const bounds = splitBounds(m, parts);
        let rows = 0;
        for (let t = 0; t < parts; t++) rows = Math.max(rows, bounds[t + 1] - bounds[t]);
        rt.runParts(bounds, rt.exports.bitstack_lut_scratch(rows), (i0, i1, scratch) => [JOB_LUT_ROWS, list, count, n, px, py, scratch, i0, i1]);
        return rt.f32(py, m).slice();
      }
      const scratch = rt.alloc(rt.exports.bitstack_lut_scratch(m));
      for (const bl of this.#blocks.slice(0, count)) {
        rt.exports.bitstack_lut_gemv(bl.signs.ptr, m, n, bl.a32.ptr, bl.b32.ptr, bl.k, px, py, scratch);
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
    rt.fits(`matmul of ${m}×${n} by ${n}×${batch}`, 4 * (n + m) * batch + 16 * count + 3 * 64 + rt.exports.bitstack_tiles_scratch_bytes(n, batch));
    return rt.scoped(() => {
      const px = rt.copyIn(x);
      rt.checkFinite('x', x, px);
      if (this.#invScale) {
        const v = rt.f32(px, n * batch);
        for (let j = 0; j < n; j++) for (let c = 0; c < batch; c++) v[j * batch + c] *= this.#invScale[j];
      }
      const py = rt.alloc(4 * m * batch);
      this.#tiles(count, px, batch, py) || rt.check(rt.exports.bitstack_matmul(this.#blockList(count), count, m, n, px, batch, py), 'matmul');
      return rt.f32(py, m * batch).slice();
    });
  }

  /**
   * The matrix as plain data (typed arrays and numbers: structured-cloneable, transferable), to move
   * it to another instance — a worker's result to the main thread — with `bw.restore()`.
   */
  export(): StackedMatrixData {
    this.#count(undefined);
    return {
      rows: this.rows, cols: this.cols, factors: this.factors, norm: this.norm,
      relativeErrors: this.relativeErrors.slice(), scale: this.scale,
      blocks: this.#blocks.map((_, i) => this.blockData(i)),
    };
  }

  /** Gives the blocks' memory back; the matrix is unusable afterwards. */
  free(): void {
    for (const bl of this.#blocks) freeBlock(this.#rt, bl);
    this.#blocks = [];
  }
}

// Block Krylov defaults: blocks of 16 + 4 → 24 columns, 4 steps (bench/bitstack.mjs, README).
const KRYLOV_DEPTH = 4, KRYLOV_OVERSAMPLE = 4;
// Above rank 16 (rank 'auto' takes its SVD at rank 32): blocks of 40 columns, 3 steps, so that a block
// costs ~1.3× a rank-16 one instead of 1.6× (bench/bitstack.mjs). Measured on the bundled model's 10
// matrices, worst ratio of the error to exact-SVD BitStack at equal bytes: 3 steps 1.12, 4 steps 1.08.
const KRYLOV_DEPTH_WIDE = 3;
/** Candidate ranks of rank 'auto'. */
const DEFAULT_RANKS = [1, 2, 4, 8, 16, 32];

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
  opts = options('opts', opts);
  const signal = opts.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new BitstackError('ARG', 'opts.signal must be an AbortSignal');
  }
  const aborted = () => new BitstackError('ABORTED', 'decompose was aborted', { cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const steps = decomposeSteps(rt, w, m, n, opts);
  let s = steps.next();
  while (!s.done) {
    await new Promise(yieldToHost);
    s = signal?.aborted ? steps.throw(aborted()) : steps.next();
  }
  return s.value;
}

/** The ranks to try (a mask, bit r−1 for rank r) and the largest, from opts.rank and opts.ranks. */
function rankChoice(opts: DecomposeOptions, m: number, n: number): { kmax: number; mask: number } {
  const p = Math.min(m, n);
  if (opts.rank === undefined || opts.rank === 'auto') {
    if (opts.ranks !== undefined && (!Array.isArray(opts.ranks) || !opts.ranks.length)) throw new BitstackError('ARG', 'opts.ranks must be a non-empty array of ranks 1…32');
    const ranks = (opts.ranks ?? DEFAULT_RANKS).map((r, i) => intOption(`opts.ranks[${i}]`, r, 1, 1, 32)).filter((r) => r <= p);
    // Every candidate above min(m, n): the matrix's full rank is the one that fits.
    const usable = ranks.length ? ranks : [p];
    return { kmax: Math.max(...usable), mask: usable.reduce((mk, r) => mk | 2 ** (r - 1), 0) >>> 0 };
  }
  if (typeof opts.rank !== 'number') throw new BitstackError('ARG', `opts.rank must be a number or 'auto', got ${String(opts.rank)}`);
  const k = intOption('opts.rank', opts.rank, 16, 1, Math.min(32, p));
  return { kmax: k, mask: 2 ** (k - 1) >>> 0 };
}

/** Resolves on the host's next macrotask (setTimeout 0), or its next microtask where it has no timers (a bare host). */
function yieldToHost(resolve: (v?: unknown) => void): void {
  if (typeof setTimeout === 'function') setTimeout(resolve, 0);
  else void Promise.resolve().then(resolve);
}

/** decompose() as steps: yields after every block but the last, returns the matrix. */
function* decomposeSteps(
  rt: Runtime, w: Float32Array, m: number, n: number, opts: DecomposeOptions,
): Generator<void, StackedMatrix, void> {
  opts = options('opts', opts);
  m = dim('m', m);
  n = dim('n', n);
  const { kmax, mask } = rankChoice(opts, m, n);
  const factors = opts.factors ?? 'int8';
  if (factors !== 'int8' && factors !== 'f16') throw new BitstackError('ARG', `opts.factors must be 'int8' or 'f16', got ${String(opts.factors)}`);
  const blocks = intOption('opts.blocks', opts.blocks, 16, 1, 1024);
  const rangeFinder = opts.rangeFinder ?? 'krylov';
  if (rangeFinder !== 'krylov' && rangeFinder !== 'subspace') {
    throw new BitstackError('ARG', `opts.rangeFinder must be 'krylov' or 'subspace', got ${String(opts.rangeFinder)}`);
  }
  const krylov = rangeFinder === 'krylov';
  const powerIters = intOption('opts.powerIters', opts.powerIters, krylov ? (kmax > 16 ? KRYLOV_DEPTH_WIDE : KRYLOV_DEPTH) : 6, 0, 1000);
  const oversample = intOption('opts.oversample', opts.oversample, krylov ? KRYLOV_OVERSAMPLE : 24, 0, 1 << 20);
  const seed = intOption('opts.seed', opts.seed, 0, 0, 2 ** 32 - 1 - blocks);
  const exact = (opts.svd ?? 'randomized') === 'exact';
  if (opts.svd !== undefined && opts.svd !== 'exact' && opts.svd !== 'randomized') {
    throw new BitstackError('ARG', `opts.svd must be 'randomized' or 'exact', got ${String(opts.svd)}`);
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new BitstackError('ARG', 'opts.onProgress must be a function');
  if (opts.name !== undefined && typeof opts.name !== 'string') throw new BitstackError('ARG', 'opts.name must be a string');
  const matrix = opts.name ?? '';
  f32('w', w, m * n, `m×n (${m}×${n})`);
  let invScale: Float32Array | null = null;
  if (opts.scale !== undefined) {
    const s = f32('opts.scale', opts.scale, n, `n (${n})`);
    invScale = s.map((v) => 1 / v);
    // Both s and 1/s must be normal f32 numbers: a scale of 1e-40 would undo itself as Infinity.
    if (s.some((v, j) => !(v >= 2 ** -126) || !Number.isFinite(v) || !(invScale![j] >= 2 ** -126) || !Number.isFinite(invScale![j]))) {
      throw new BitstackError('ARG', 'opts.scale must hold positive values whose inverses are finite too (2^-126 … 2^126)');
    }
  }
  const method = exact ? rt.abi.METHOD_EXACT : krylov ? rt.abi.METHOD_KRYLOV : rt.abi.METHOD_SUBSPACE;
  const factorCode = factors === 'int8' ? rt.abi.FACTORS_I8 : rt.abi.FACTORS_F16;
  // The residual (resident) and one block's arena: its outputs, f32 factors and the kernel's scratch.
  rt.fits(`decompose of ${m}×${n}`, 4 * m * n + Math.ceil(m * n / 8) + 6 * kmax * (m + n) + 4 * kmax + 8 * 64
    + rt.exports.bitstack_block_scratch_bytes(m, n, kmax, method, powerIters, oversample));
  const subtractRounded = boolOption('opts.subtractRounded', opts.subtractRounded, true);
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
      // The kernel writes the factors of the rank it picks into scratch; the block is allocated at that rank.
      const per = factors === 'int8' ? 1 : 2;
      const { norm2, k, stored } = rt.scoped(() => {
        const out = rt.alloc(24), signs = rt.alloc(Math.ceil(m * n / 8) + 1);
        const a = rt.alloc(per * m * kmax), b = rt.alloc(per * kmax * n), scales = rt.alloc(4 * kmax);
        const a32 = rt.alloc(4 * m * kmax), b32 = rt.alloc(4 * kmax * n);
        rt.check(rt.exports.bitstack_block(residual.ptr, m, n, kmax, mask, factorCode, method, powerIters, oversample, seed + q,
          subtractRounded ? 1 : 0, signs, a, b, scales, scales + 2 * kmax, a32, b32, out), 'decompose');
        const k = new Int32Array(rt.exports.memory.buffer, out + 16, 1)[0];
        const stored = {
          signs: rt.u8(signs, Math.ceil(m * n / 8)).slice(), a: rt.u8(a, per * m * k).slice(), b: rt.u8(b, per * k * n).slice(),
          aScale: rt.u8(scales, 2 * k).slice(), bScale: rt.u8(scales + 2 * kmax, 2 * k).slice(),
        };
        return { norm2: rt.f64(out, 1)[0], k, stored };
      });
      const bl = allocBlock(rt, m, n, k, factors);
      made.push(bl);
      rt.u8(bl.signs.ptr, stored.signs.length).set(stored.signs);
      rt.u8(bl.a.ptr, stored.a.length).set(stored.a);
      rt.u8(bl.b.ptr, stored.b.length).set(stored.b);
      if (bl.scales) { rt.u8(bl.scales.ptr, 2 * k).set(stored.aScale); rt.u8(bl.scales.ptr + 2 * k, 2 * k).set(stored.bScale); }
      finishBlock(rt, bl, m, n);
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
  return new StackedMatrix(rt, m, n, factors, made, errors, invScale, Math.sqrt(total));
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
