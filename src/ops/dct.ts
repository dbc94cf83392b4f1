import type { Runtime } from '../runtime.js';
import { BitstackError } from '../errors.js';
import { boolOption, dim, f32, intOption, options } from './validate.js';
import { svd } from './svd.js';
import { matmul } from './matmul.js';

/** Options of {@link dctSelect}. */
export interface DctSelectOptions {
  /** Score of a basis vector: the L1 (default) or L2 norm of its column (right) or row (left) of S. */
  norm?: 'l1' | 'l2';
  /** Default (GaLore's rule): m ≥ n → 'right' (S = G·Dₙᵀ), m < n → 'left' (S = Dₘ·G). */
  side?: 'left' | 'right';
  /** 'matmul': S by a GEMM with the basis, O(m·n²); 'fft': O(m·n·log n); 'auto' (default): the faster one for the size. */
  method?: 'matmul' | 'fft' | 'auto';
}

/** A low-rank projection of an m×n gradient, from dctSelect or svdProject. */
export interface Projection {
  side: 'left' | 'right';
  /** dctSelect: the r selected basis vectors, by score descending (ties by index); svdProject: 0…r−1. */
  indices: Int32Array;
  /** 'right': m×r = S[:, indices]; 'left': r×n = S[indices, :] (row-major). */
  projected: Float32Array;
  /** dctSelect: the score of every candidate basis vector (by index). */
  scores?: Float64Array;
  /** Shape of the gradient. */
  rows: number;
  cols: number;
  /** svdProject: the r basis vectors as rows (r×n when 'right', r×m when 'left'). */
  basis?: Float32Array;
  /** Which path computed it. */
  method: 'matmul' | 'fft' | 'svd' | 'svd-exact';
}

/** Transform length from which 'auto' uses the FFT (bench/dct.mjs measures the crossover). */
export const FFT_CROSSOVER = 64;
/** The resident bases of all sizes together stay within this many bytes (least recently used go first). */
export const DCT_CACHE_BYTES = 64 << 20;

const caches = new WeakMap<Runtime, Map<number, { ptr: number; size: number }>>();

/** Pointer to the resident n×n basis (an LRU cache of at most DCT_CACHE_BYTES), or 0 when it must be built per call. */
function cachedBasis(rt: Runtime, n: number): number {
  let cache = caches.get(rt);
  if (!cache) {
    const made = new Map<number, { ptr: number; size: number }>();
    caches.set(rt, (cache = made));
    rt.onClearCaches(() => { for (const b of made.values()) rt.freeResident(b.ptr, b.size); made.clear(); });
  }
  const hit = cache.get(n);
  if (hit !== undefined) {
    cache.delete(n);
    cache.set(n, hit); // most recently used last
    return hit.ptr;
  }
  const size = 4 * n * n;
  if (size > DCT_CACHE_BYTES) return 0;
  let total = size;
  for (const b of cache.values()) total += b.size;
  for (const [k, b] of cache) {
    if (total <= DCT_CACHE_BYTES) break;
    rt.freeResident(b.ptr, b.size);
    cache.delete(k);
    total -= b.size;
  }
  const block = rt.allocResident(size);
  rt.exports.dct_basis(n, 0, n, block.ptr);
  cache.set(n, block);
  return block.ptr;
}

/** The orthonormal DCT-II basis, n×n row-major: D[k][j] = c_k·cos(π(2j+1)k/(2n)). */
export function dctBasis(rt: Runtime, n: number): Float32Array {
  n = dim('n', n);
  rt.fits(`a ${n}×${n} basis`, 4 * n * n);
  const cached = cachedBasis(rt, n);
  if (cached) return rt.f32(cached, n * n).slice();
  return rt.scoped(() => {
    const ptr = rt.alloc(4 * n * n);
    rt.exports.dct_basis(n, 0, n, ptr);
    return rt.f32(ptr, n * n).slice();
  });
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new BitstackError('ARG', `${name} must be one of ${allowed.map((x) => `'${x}'`).join(', ')}, got ${String(v)}`);
  return v as T;
}

export function dctSelect(rt: Runtime, g: Float32Array, m: number, n: number, r: number, opts: DctSelectOptions = {}): Projection {
  opts = options('opts', opts);
  m = dim('m', m);
  n = dim('n', n);
  const norm = oneOf('opts.norm', opts.norm, ['l1', 'l2'] as const, 'l1');
  const side = oneOf('opts.side', opts.side, ['left', 'right'] as const, m >= n ? 'right' : 'left');
  const requested = oneOf('opts.method', opts.method, ['matmul', 'fft', 'auto'] as const, 'auto');
  const len = side === 'left' ? m : n;
  r = intOption('r', r, 0, 1, len);
  const method = requested === 'auto' ? (len >= FFT_CROSSOVER ? 'fft' : 'matmul') : requested;
  const outLen0 = side === 'left' ? r * n : m * r;
  rt.fits(`dctSelect of ${m}×${n}`, 4 * (m * n + (method === 'matmul' ? len * len : 0) + r + outLen0) + 8 * len + 5 * 64
    + rt.exports.dct_select_scratch_bytes(m, n, side === 'left' ? 1 : 0, method === 'fft' ? 1 : 0));
  f32('g', g, m * n, `m×n (${m}×${n})`);
  const basis = method === 'matmul' ? cachedBasis(rt, len) : 0;
  const outLen = side === 'left' ? r * n : m * r;
  return rt.scoped(() => {
    const pg = rt.copyIn(g);
    rt.checkFinite('g', g, pg);
    let pb = basis;
    if (method === 'matmul' && !pb) {
      pb = rt.alloc(4 * len * len);
      rt.exports.dct_basis(len, 0, len, pb);
    }
    const idx = rt.alloc(4 * r), scores = rt.alloc(8 * len), proj = rt.alloc(4 * outLen);
    rt.check(rt.exports.dct_select(pg, m, n, r, side === 'left' ? 1 : 0, norm === 'l2' ? 1 : 0, method === 'fft' ? 1 : 0,
      pb, idx, scores, proj), 'dctSelect');
    const s = rt.f64(scores, len).slice();
    if (norm === 'l2') for (let i = 0; i < len; i++) s[i] = Math.sqrt(s[i]);
    return {
      side, method, rows: m, cols: n,
      indices: new Int32Array(rt.exports.memory.buffer, idx, r).slice(),
      projected: rt.f32(proj, outLen).slice(),
      scores: s,
    };
  });
}

/** The m×n matrix a projection stands for: 'right': P·B (B the r basis rows), 'left': Bᵀ·P. */
export function backProject(rt: Runtime, p: Projection): Float32Array {
  if (!p || (p.side !== 'left' && p.side !== 'right') || !(p.projected instanceof Float32Array) || !(p.indices instanceof Int32Array)) {
    throw new BitstackError('ARG', 'backProject needs the result of dctSelect or svdProject');
  }
  const m = dim('p.rows', p.rows), n = dim('p.cols', p.cols);
  const r = p.indices.length;
  const len = p.side === 'left' ? m : n;
  f32('p.projected', p.projected, p.side === 'left' ? r * n : m * r, p.side === 'left' ? `r×n (${r}×${n})` : `m×r (${m}×${r})`);
  let basis = p.basis;
  if (basis) {
    f32('p.basis', basis, r * len, `r×${len}`);
  } else {
    for (const k of p.indices) {
      if (!Number.isInteger(k) || k < 0 || k >= len) throw new BitstackError('ARG', `p.indices holds ${k}, outside 0…${len - 1}`);
    }
    basis = rt.scoped(() => {
      const pi = rt.alloc(4 * r), out = rt.alloc(4 * r * len);
      new Int32Array(rt.exports.memory.buffer, pi, r).set(p.indices);
      rt.exports.dct_basis(len, pi, r, out);
      return rt.f32(out, r * len).slice();
    });
  }
  return p.side === 'right'
    ? matmul(rt, p.projected, basis, m, r, n) as Float32Array
    : matmul(rt, basis, p.projected, m, r, n, { transA: true }) as Float32Array;
}

/**
 * GaLore's projection with this library's SVD, in dctSelect's conventions: the top r
 * singular vectors on the same side. Default: rank-r randomized SVD; exact: full Jacobi.
 */
export function svdProject(
  rt: Runtime, g: Float32Array, m: number, n: number, r: number, opts: { exact?: boolean; side?: 'left' | 'right' } = {},
): Projection {
  opts = options('opts', opts);
  m = dim('m', m);
  n = dim('n', n);
  const side = oneOf('opts.side', opts.side, ['left', 'right'] as const, m >= n ? 'right' : 'left');
  r = intOption('r', r, 0, 1, Math.min(m, n));
  f32('g', g, m * n, `m×n (${m}×${n})`);
  const exact = boolOption('opts.exact', opts.exact, false);
  const d = svd(rt, g, m, n, exact ? {} : { rank: r });
  const k = d.S.length;
  let basis: Float32Array, projected: Float32Array;
  if (side === 'right') {
    basis = d.Vt!.slice(0, r * n);                          // r×n: the top right singular vectors
    projected = matmul(rt, g, basis, m, n, r, { transB: true }) as Float32Array; // G·V_r (m×r)
  } else {
    basis = new Float32Array(r * m);                        // r×m: U_rᵀ
    for (let i = 0; i < m; i++) for (let t = 0; t < r; t++) basis[t * m + i] = d.U![i * k + t];
    projected = matmul(rt, basis, g, r, m, n) as Float32Array; // U_rᵀ·G (r×n)
  }
  return {
    side, rows: m, cols: n, basis, projected,
    indices: Int32Array.from({ length: r }, (_, i) => i),
    method: exact ? 'svd-exact' : 'svd',
  };
}
