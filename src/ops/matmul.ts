import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { WasmMatrix } from '../matrix.js';
import { JOB_GEMM_COLS, JOB_GEMV_PART, partsFor, splitBounds } from '../threads.js';
import { boolOption, checkOperand, dim, f32, operand, options, type F32Operand } from './validate.js';

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** A is stored transposed: a k×m row-major array, and op(A) = Aᵀ. */
  transA?: boolean;
  /** B is stored transposed: an n×k row-major array, and op(B) = Bᵀ. */
  transB?: boolean;
  /**
   * Write C here instead of a new array: a Float32Array of length m·n (may alias `a` or `b`),
   * or a resident m×n WasmMatrix (C stays in wasm memory; must not be `a` or `b`).
   */
  out?: Float32Array | WasmMatrix;
}

/**
 * C = op(A) · op(B): C is m×n row-major, op(A) is m×k, op(B) is k×n.
 * NaN and ±Infinity propagate as IEEE arithmetic does (no check).
 */
export function matmul(
  rt: Runtime, a: F32Operand, b: F32Operand, m: number, k: number, n: number, opts: MatmulOptions = {},
): Float32Array | WasmMatrix {
  opts = options('opts', opts);
  m = dim('m', m);
  k = dim('k', k);
  n = dim('n', n);
  const transA = boolOption('opts.transA', opts.transA, false), transB = boolOption('opts.transB', opts.transB, false);
  rt.fits(`matmul ${m}×${k}·${k}×${n}`, 4 * (m * k + k * n + m * n) + 3 * 64 + (rt.pool?.size ?? 1) * Math.max(64, rt.exports.gemm_scratch_bytes(m, k, n, transA ? 1 : 0, 0)));
  const shapeA = transA ? `k×m (${k}×${m})` : `m×k (${m}×${k})`;
  const shapeB = transB ? `n×k (${n}×${k})` : `k×n (${k}×${n})`;
  checkOperand('a', a, m * k, shapeA);
  checkOperand('b', b, k * n, shapeB);
  const out = opts.out ?? new Float32Array(m * n);
  if (out instanceof WasmMatrix) {
    checkOperand('opts.out', out, m * n, `m×n (${m}×${n})`);
    if (out === a || out === b) throw new BitstackError('ARG', 'opts.out must not be the WasmMatrix a or b');
  } else {
    f32('opts.out', out, m * n, `m×n (${m}×${n})`);
  }
  // A resident B keeps its packed panels, for x·B too (m = 1: the panels are read front to back,
  // faster than B in place); B·x (n = 1) and x·Bᵀ read B's contiguous rows in place.
  const bPacked = b instanceof WasmMatrix && b.prepack && n > 1 && (m > 1 || !transB) ? b.packedB(rt, k, n, transB) : 0;
  if (out instanceof WasmMatrix) out.dropPacked();
  return rt.scoped(() => {
    const pa = operand(rt, 'a', a, m * k, shapeA);
    const pb = bPacked ? 0 : operand(rt, 'b', b, k * n, shapeB);
    const pc = out instanceof WasmMatrix ? out.pointer(rt, 'opts.out') : rt.alloc(4 * m * n);
    const ex = rt.exports;
    const t = [transA ? 1 : 0, transB ? 1 : 0] as const;
    const each = ex.gemm_scratch_bytes(m, k, n, t[0], bPacked ? 1 : 0);
    // On the threads build, a large product is split: a matrix-vector product along its output (16 a part
    // boundary), a GEMM by columns (multiples of the tile width).
    const length = n === 1 ? m : n;
    const vector = m === 1 || n === 1;
    let parts = partsFor(rt.pool, m * k * n, vector ? Math.floor(length / 16) : n);
    if (!vector) while (parts > 1 && ex.gemm_col_split(n, parts, 1) === 0) parts--; // fewer tile columns than threads
    if (parts > 1 && vector) {
      rt.runParts(splitBounds(length, parts), Math.max(64, each), (i0, i1, tile) => [JOB_GEMV_PART, pa, pb, pc, m, k, n, t[0], t[1], bPacked, i0, i1, tile]);
    } else if (parts > 1) {
      const bounds = Array.from({ length: parts + 1 }, (_, p) => ex.gemm_col_split(n, parts, p));
      rt.runParts(bounds, each, (n0, n1, scratch) => [JOB_GEMM_COLS, pa, pb, pc, m, k, n, t[0], t[1], bPacked, n0, n1, scratch]);
    } else {
      rt.check(ex.gemm_f32(pa, pb, pc, m, k, n, t[0], t[1], bPacked), 'matmul');
    }
    if (!(out instanceof WasmMatrix)) out.set(rt.f32(pc, m * n));
    return out;
  });
}
