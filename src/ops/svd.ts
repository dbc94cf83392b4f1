import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { boolOption, dim, floats, intOption, options } from './validate.js';

/** Options of {@link svd}. */
export interface SvdOptions {
  /**
   * Rank-k SVD (randomized subspace iteration + Jacobi on the small ℓ×n matrix) instead of the
   * full thin SVD: U m×k, S k, Vt k×n. 1 ≤ rank ≤ min(m, n).
   */
  rank?: number;
  /** Extra sketch columns for the rank-k SVD (ℓ = rank + oversample). Default 10. */
  oversample?: number;
  /**
   * Subspace (power) iterations for the rank-k SVD. Default 2: within a fraction of a percent of the
   * optimal Frobenius error on decaying spectra; 0 is much cheaper but can be tens of percent off.
   * With `rangeFinder: 'krylov'`: the number of Krylov steps (also 2 by default).
   */
  powerIters?: number;
  /**
   * Range finder of the rank-k SVD. 'subspace' (default): subspace iteration on ℓ = rank + oversample
   * columns (Halko et al. 2011, Alg. 4.4). 'krylov': block Krylov iteration (Musco & Musco 2015) on
   * blocks of b = rank + oversample columns, keeping every block: (powerIters + 1)·b columns in all,
   * B = Qᵀ·A for free, more accurate for the same number of products with A (see bitstack decompose).
   * Both round the block up to a multiple of 8.
   */
  rangeFinder?: 'subspace' | 'krylov';
  /** Seed of the in-wasm Gaussian sketch. Default 0. */
  seed?: number;
  /** false: singular values only (U and Vt are null). Default true. */
  computeUV?: boolean;
  /** Cap on Jacobi sweeps; `converged: false` when reached. Default 30. */
  maxSweeps?: number;
}

/** Result of {@link svd}: A ≈ U·diag(S)·Vt, arrays of the input's element type. */
export interface SvdResult<A extends Float32Array | Float64Array> {
  /** m×p row-major (p = min(m, n), or the rank), or null with computeUV: false. */
  U: A | null;
  /** p singular values, descending, non-negative. */
  S: A;
  /** p×n row-major, or null with computeUV: false. */
  Vt: A | null;
  /** Jacobi sweeps performed. */
  sweeps: number;
  /** False when the sweep cap was reached before every pair was orthogonal. */
  converged: boolean;
}

export function svd<A extends Float32Array | Float64Array>(
  rt: Runtime, a: A, m: number, n: number, opts: SvdOptions = {},
): SvdResult<A> {
  opts = options('opts', opts);
  m = dim('m', m);
  n = dim('n', n);
  const wantUV = boolOption('opts.computeUV', opts.computeUV, true);
  const maxSweeps = intOption('opts.maxSweeps', opts.maxSweeps, 30, 1, 1000);
  const p = Math.min(m, n);
  const rank = opts.rank === undefined ? 0 : intOption('opts.rank', opts.rank, 0, 1, p);
  const oversample = intOption('opts.oversample', opts.oversample, 10, 0, 1 << 20);
  const powerIters = intOption('opts.powerIters', opts.powerIters, 2, 0, 1000);
  const seed = intOption('opts.seed', opts.seed, 0, 0, 2 ** 32 - 1);
  const rangeFinder = opts.rangeFinder ?? 'subspace';
  if (rangeFinder !== 'subspace' && rangeFinder !== 'krylov') {
    throw new BitstackError('ARG', `opts.rangeFinder must be 'subspace' or 'krylov', got ${String(opts.rangeFinder)}`);
  }
  const f64 = a instanceof Float64Array ? 1 : 0;
  const sz = f64 ? 8 : 4; // (the type is checked below, after the size)
  const out = rank || p;
  const krylov = rangeFinder === 'krylov' ? 1 : 0;
  // Input, outputs, and the kernel's own scratch (its size query).
  const scratch = rank
    ? rt.exports.svd_rank_scratch_bytes(f64, m, n, rank, oversample, powerIters, wantUV ? 1 : 0, krylov)
    : rt.exports.svd_full_scratch_bytes(f64, m, n, wantUV ? 1 : 0);
  rt.fits(`svd of ${m}×${n}`, sz * (m * n + out + (wantUV ? out * (m + n) : 0)) + 4 * 64 + scratch);
  floats('a', a, m * n, `m×n (${m}×${n})`);
  return rt.scoped(() => {
    const pa = rt.copyIn(a);
    rt.checkFinite('a', a, pa);
    const ps = rt.alloc(sz * out);
    const pu = wantUV ? rt.alloc(sz * m * out) : 0;
    const pvt = wantUV ? rt.alloc(sz * out * n) : 0;
    const po = rt.alloc(8);
    rt.check(rank
      ? rt.exports.svd_rank(f64, pa, m, n, rank, oversample, powerIters, seed, wantUV ? 1 : 0, ps, pu, pvt, maxSweeps, krylov, po)
      : rt.exports.svd_full(f64, pa, m, n, wantUV ? 1 : 0, ps, pu, pvt, maxSweeps, po), `svd of ${m}×${n}`);
    const [sweeps, converged] = new Int32Array(rt.exports.memory.buffer, po, 2);
    return {
      U: wantUV ? rt.view(a, pu, m * out).slice() as A : null,
      S: rt.view(a, ps, out).slice() as A,
      Vt: wantUV ? rt.view(a, pvt, out * n).slice() as A : null,
      sweeps,
      converged: converged === 1,
    };
  });
}
