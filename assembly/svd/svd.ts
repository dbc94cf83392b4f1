// Full (thin) SVD by preconditioned one-sided Jacobi, after Drmač–Veselić
// (LAPACK xGEJSV): A = U·diag(S)·Vᵀ for T = f32 or f64.
//
// With T the tall orientation of A (M×N, M ≥ N; Aᵀ when A is wide):
//  1. scale by a power of two so that max |t| ∈ [1, 2) (exact; no overflow or
//     underflow in the sums of squares for inputs near either end of the range);
//  2. sort the rows of T by ∞-norm, descending (keeps QR's relative accuracy
//     on row-graded input);
//  3. QR with column pivoting: T·P = Q·R;
//  4. one-sided Jacobi on X = Rᵀ (its columns are R's rows): X·Vx = Ux·Σ,
//     so R = Vx·Σ·Uxᵀ and T = (Q·Vx)·Σ·(P·Ux)ᵀ;
//  5. sort σ descending, complete Ux where σ = 0, form U_T = Q·Vx and V_T = P·Ux,
//     and make the largest entry of each column of U positive.
// All work is in the scratch arena; column vectors are contiguous throughout.

import { alloc, mark, release, paddedBytes } from '../arena';
import { dot, axpy, scale, get, set } from './vec';
import { qr, applyQ } from './householder';
import { jacobi } from './jacobi';
import { sortIndexDesc } from '../sort';

export const SVD_OUT_OF_MEMORY: i32 = i32.MIN_VALUE;

@inline function pow2(e: i32): f64 {
  return reinterpret<f64>(<u64>(1023 + e) << 52);
}

/** Unit roundoff of T. */
@inline export function unitRoundoff<T>(): f64 {
  return sizeof<T>() == 8 ? pow2(-53) : pow2(-24);
}

/** Power of two s with max|x|·s ∈ [1, 2); 1 for an all-zero input. */
function scaleFor<T>(a: usize, count: usize): f64 {
  let amax = 0.0;
  for (let i: usize = 0; i < count; i++) {
    const v = Math.abs(<f64>load<T>(a + i * sizeof<T>()));
    if (v > amax) amax = v;
  }
  if (amax == 0) return 1;
  let e = <i32>((reinterpret<u64>(amax) >> 52) & 0x7ff) - 1023;
  if (e < -1022) e = -1022;
  return pow2(min(1022, max(-1022, -e)));
}

/**
 * Completes the unit vectors X[i] (i with σ = 0, in sorted order) to an
 * orthonormal set with the others: e_j, orthogonalised twice (Gram–Schmidt)
 * against every accepted vector, the first that keeps norm > 1/2.
 */
function complete<T>(x: usize, n: i32, sigma: usize, order: usize, y: usize): void {
  const sz = sizeof<T>();
  for (let k = 0; k < n; k++) {
    const i = load<i32>(order + (<usize>k << 2));
    if (load<f64>(sigma + (<usize>i << 3)) != 0) continue;
    const xi = x + <usize>i * <usize>n * sz;
    for (let j = 0; j < n; j++) {
      memory.fill(y, 0, <usize>n * sz);
      set<T>(y, j, 1);
      for (let pass = 0; pass < 2; pass++) {
        for (let kk = 0; kk < n; kk++) {
          const o = load<i32>(order + (<usize>kk << 2));
          // Accepted: nonzero σ, or zero σ already completed (earlier in order).
          if (o == i || (load<f64>(sigma + (<usize>o << 3)) == 0 && kk > k)) continue;
          const xo = x + <usize>o * <usize>n * sz;
          axpy<T>(y, xo, n, -dot<T>(xo, y, n));
        }
      }
      const nrm = Math.sqrt(dot<T>(y, y, n));
      if (nrm > 0.5) {
        scale<T>(y, n, 1 / nrm);
        memory.copy(xi, y, <usize>n * sz);
        break;
      }
    }
  }
}

/**
 * SVD of the row-major m×n matrix `a` (not modified). Writes S (p = min(m, n)
 * values, descending) and, when wantUV, U (m×p) and Vt (p×n), row-major.
 * Returns the number of Jacobi sweeps, negated when not converged within
 * maxSweeps, or SVD_OUT_OF_MEMORY.
 */
export function svd<T>(a: usize, m: i32, n: i32, wantUV: bool, sOut: usize, uOut: usize, vtOut: usize, maxSweeps: i32): i32 {
  const sz = sizeof<T>();
  const tall = m >= n;
  const M = tall ? m : n, N = tall ? n : m;
  const eps = unitRoundoff<T>();
  const saved = mark();
  const w = alloc(<usize>N * <usize>M * sz);
  const x = alloc(<usize>N * <usize>N * sz);
  const vx = wantUV ? alloc(<usize>N * <usize>N * sz) : 1;
  const y = alloc(<usize>max(M, N) * sz);
  const f64s = alloc(<usize>(6 * N + M + 1) << 3);
  const i32s = alloc(<usize>(4 * N + 2 * M) << 2);
  if (w == 0 || x == 0 || vx == 0 || y == 0 || f64s == 0 || i32s == 0) {
    release(saved);
    return SVD_OUT_OF_MEMORY;
  }
  const tau = f64s, norms = tau + (<usize>N << 3), nrm2 = norms + (<usize>(2 * N) << 3);
  const sigma = nrm2 + (<usize>N << 3), rowKey = sigma + (<usize>N << 3), scratch = rowKey + (<usize>M << 3);
  const cperm = i32s, ord = cperm + (<usize>N << 2), order = ord + (<usize>N << 2);
  const tmp = order + (<usize>N << 2), rperm = tmp + (<usize>max(N, M) << 2);
  // T[r][c]: element (r, c) of the tall orientation.
  const rs: usize = tall ? <usize>n * sz : sz, cs: usize = tall ? sz : <usize>n * sz;

  // 1–2. Scale; sort T's rows by ∞-norm.
  const sc = scaleFor<T>(a, <usize>m * <usize>n);
  for (let r = 0; r < M; r++) {
    let mx = 0.0;
    for (let c = 0; c < N; c++) mx = Math.max(mx, Math.abs(<f64>load<T>(a + <usize>r * rs + <usize>c * cs)));
    store<f64>(rowKey + (<usize>r << 3), mx);
    store<i32>(rperm + (<usize>r << 2), r);
  }
  sortIndexDesc(rowKey, rperm, M, tmp);
  // W: N columns of length M: W[c][r] = sc·T[rperm[r]][c].
  for (let r = 0; r < M; r++) {
    const src = a + <usize>load<i32>(rperm + (<usize>r << 2)) * rs;
    for (let c = 0; c < N; c++) {
      store<T>(w + (<usize>c * <usize>M + <usize>r) * sz, <T>(<f64>load<T>(src + <usize>c * cs) * sc));
    }
  }
  // 3. T·P = Q·R.
  qr<T>(w, M, M, N, tau, cperm, true, norms, eps);
  // 4. X = Rᵀ: X[i] = row i of R = (0…0, R[i][i], …, R[i][N−1]); R[i][r] is W[r][i].
  memory.fill(x, 0, <usize>N * <usize>N * sz);
  for (let i = 0; i < N; i++) {
    for (let r = i; r < N; r++) {
      store<T>(x + (<usize>i * <usize>N + <usize>r) * sz, load<T>(w + (<usize>r * <usize>M + <usize>i) * sz));
    }
  }
  if (wantUV) {
    memory.fill(vx, 0, <usize>N * <usize>N * sz);
    for (let i = 0; i < N; i++) set<T>(vx, i * N + i, 1);
  }
  const sweeps = jacobi<T>(x, N, N, N, wantUV ? vx : 0, N, N, nrm2, ord, scratch, eps, maxSweeps);

  // 5. σ, sorted descending (ties by index).
  for (let i = 0; i < N; i++) {
    const xi = x + <usize>i * <usize>N * sz;
    store<f64>(sigma + (<usize>i << 3), Math.sqrt(dot<T>(xi, xi, N)));
    store<i32>(order + (<usize>i << 2), i);
  }
  sortIndexDesc(sigma, order, N, tmp);
  for (let k = 0; k < N; k++) {
    set<T>(sOut, k, load<f64>(sigma + (<usize>load<i32>(order + (<usize>k << 2)) << 3)) / sc);
  }
  if (wantUV) {
    // Ux: the columns of X normalised (completed where σ = 0).
    for (let i = 0; i < N; i++) {
      const s = load<f64>(sigma + (<usize>i << 3));
      if (s != 0) scale<T>(x + <usize>i * <usize>N * sz, N, 1 / s);
    }
    complete<T>(x, N, sigma, order, y);
    const p = N;
    for (let k = 0; k < N; k++) {
      const i = load<i32>(order + (<usize>k << 2));
      // Column k of U_T = Q·[Vx_i; 0], rows back in T's original order.
      memory.fill(y, 0, <usize>M * sz);
      memory.copy(y, vx + <usize>i * <usize>N * sz, <usize>N * sz);
      applyQ<T>(w, M, M, N, tau, y);
      for (let r = 0; r < M; r++) {
        const row = load<i32>(rperm + (<usize>r << 2));
        const v = load<T>(y + <usize>r * sz);
        // tall: U_A = U_T (m×p); wide: Vt_A = U_Tᵀ (p×n).
        if (tall) store<T>(uOut + (<usize>row * <usize>p + <usize>k) * sz, v);
        else store<T>(vtOut + (<usize>k * <usize>n + <usize>row) * sz, v);
      }
      // Column k of V_T = P·Ux_i: V_T[cperm[r]][k] = X_i[r].
      const xi = x + <usize>i * <usize>N * sz;
      for (let r = 0; r < N; r++) {
        const row = load<i32>(cperm + (<usize>r << 2));
        const v = load<T>(xi + <usize>r * sz);
        // tall: Vt_A = V_Tᵀ (p×n); wide: U_A = V_T (m×p).
        if (tall) store<T>(vtOut + (<usize>k * <usize>n + <usize>row) * sz, v);
        else store<T>(uOut + (<usize>row * <usize>p + <usize>k) * sz, v);
      }
    }
    fixSigns<T>(uOut, vtOut, m, n, p);
  }
  release(saved);
  return sweeps;
}

/** Makes the entry of largest magnitude in each column of U positive (first on ties), flipping Vt's row too. */
export function fixSigns<T>(u: usize, vt: usize, m: i32, n: i32, p: i32): void {
  const sz = sizeof<T>();
  for (let k = 0; k < p; k++) {
    let best = 0.0, neg = false;
    for (let i = 0; i < m; i++) {
      const v = <f64>load<T>(u + (<usize>i * <usize>p + <usize>k) * sz);
      if (Math.abs(v) > best) { best = Math.abs(v); neg = v < 0; }
    }
    if (!neg) continue;
    for (let i = 0; i < m; i++) {
      const q = u + (<usize>i * <usize>p + <usize>k) * sz;
      store<T>(q, -load<T>(q));
    }
    const row = vt + <usize>k * <usize>n * sz;
    for (let j = 0; j < n; j++) {
      const q = row + <usize>j * sz;
      store<T>(q, -load<T>(q));
    }
  }
}

/** Arena bytes svd<T>() allocates for an m×n matrix. */
export function svdScratchBytes<T>(m: i32, n: i32, wantUV: bool): f64 {
  const sz = sizeof<T>();
  const M = <f64>max(m, n), N = <f64>min(m, n);
  return paddedBytes(N * M * sz) + paddedBytes(N * N * sz) + (wantUV ? paddedBytes(N * N * sz) : 0) + paddedBytes(max(M, N) * sz)
    + paddedBytes((6 * N + M + 1) * 8) + paddedBytes((4 * N + 2 * M) * 4);
}
