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
    if (m === 1 || n === 1) {
      // On the threads build, a large matrix-vector product is split along its output (16 a part boundary).
      const length = n === 1 ? m : n;
      const parts = partsFor(rt.pool, m * k * n, Math.floor(length / 16));
      if (parts > 1) {
        const each = Math.max(64, ex.gemm_scratch_bytes(m, k, n, t[0], bPacked ? 1 : 0));
        const tiles = rt.alloc(parts * each);
        const bounds = splitBounds(length, parts);
        rt.pool!.run(ex, bounds.slice(0, parts).map((i0, p) => [JOB_GEMV_PART, pa, pb, pc, m, k, n, t[0], t[1], bPacked, i0, bounds[p + 1], tiles + p * each]));
        if (!(out instanceof WasmMatrix)) out.set(rt.f32(pc, m * n));
        return out;
      }
    }
    // On the threads build, a large product is split by columns (multiples of the tile width).
    let parts = m > 1 && n > 1 ? partsFor(rt.pool, m * k * n, n) : 1;
    while (parts > 1 && ex.gemm_col_split(n, parts, 1) === 0) parts--; // fewer tile columns than threads
    if (parts > 1) {
      const each = ex.gemm_scratch_bytes(m, k, n, transA ? 1 : 0, bPacked ? 1 : 0);
      const scratch = rt.alloc(parts * each);
      rt.pool!.run(ex, Array.from({ length: parts }, (_, t) => [
        JOB_GEMM_COLS, pa, pb, pc, m, k, n, transA ? 1 : 0, transB ? 1 : 0, bPacked,
        ex.gemm_col_split(n, parts, t), ex.gemm_col_split(n, parts, t + 1), scratch + t * each,
      ]));
    } else {
      rt.check(ex.gemm_f32(pa, pb, pc, m, k, n, transA ? 1 : 0, transB ? 1 : 0, bPacked), 'matmul');
    }
    if (!(out instanceof WasmMatrix)) out.set(rt.f32(pc, m * n));
    return out;
  });
}
