// Householder QR, optionally with column pivoting (LAPACK xGEQP3/xLAQP2), on a
// matrix stored by columns: W holds `cols` vectors of length `len` (`ld`
// elements apart), W[j] = column j. Every reflector and update is then a dot
// product or an axpy on contiguous memory.
//
// After qr(): column j holds R[0..j][j] in elements 0..j (R[j][j] at j) and the
// reflector's v (v[j] = 1 implied) in elements j+1..len; tau[j] (f64) scales it:
// H_j = I − tau_j·v·vᵀ, Q = H_0·H_1·…·H_{cols−1}.

import { dot, axpy, scale, get, set } from './vec';

@inline function col<T>(w: usize, ld: i32, j: i32): usize {
  return w + <usize>j * <usize>ld * sizeof<T>();
}

@inline function elem<T>(v: usize, i: i32): usize {
  return v + <usize>i * sizeof<T>();
}

/** Swaps two vectors of length n. */
function swapVec<T>(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = elem<T>(x, i), q = elem<T>(y, i);
    const t = load<T>(p);
    store<T>(p, load<T>(q));
    store<T>(q, t);
  }
}

/**
 * QR of W (len ≥ cols). With `pivot`, columns are exchanged so that |R[j][j]| is
 * non-increasing (norm downdating as LAPACK's xLAQP2, with recomputation where
 * cancellation makes the downdated norm unreliable); perm[j] = original index of
 * column j. `norms`: scratch of 2·cols f64. `eps`: the unit roundoff of T.
 */
export function qr<T>(w: usize, ld: i32, len: i32, cols: i32, tau: usize, perm: usize, pivot: bool, norms: usize, eps: f64): void {
  const vn1 = norms, vn2 = norms + (<usize>cols << 3);
  for (let j = 0; j < cols; j++) {
    store<i32>(perm + (<usize>j << 2), j);
    if (pivot) {
      const c = col<T>(w, ld, j);
      const nrm = Math.sqrt(dot<T>(c, c, len));
      store<f64>(vn1 + (<usize>j << 3), nrm);
      store<f64>(vn2 + (<usize>j << 3), nrm);
    }
  }
  const tol3z = Math.sqrt(eps);
  for (let j = 0; j < cols; j++) {
    if (pivot) {
      // The remaining column of largest partial norm (first on ties) becomes column j.
      let best = j;
      let bestNorm = load<f64>(vn1 + (<usize>j << 3));
      for (let k = j + 1; k < cols; k++) {
        const v = load<f64>(vn1 + (<usize>k << 3));
        if (v > bestNorm) { best = k; bestNorm = v; }
      }
      if (best != j) {
        swapVec<T>(col<T>(w, ld, j), col<T>(w, ld, best), len);
        const pj = perm + (<usize>j << 2), pb = perm + (<usize>best << 2);
        const t = load<i32>(pj); store<i32>(pj, load<i32>(pb)); store<i32>(pb, t);
        store<f64>(vn1 + (<usize>best << 3), load<f64>(vn1 + (<usize>j << 3)));
        store<f64>(vn2 + (<usize>best << 3), load<f64>(vn2 + (<usize>j << 3)));
      }
    }
    // Reflector for column j, rows j..len (xLARFG).
    const cj = col<T>(w, ld, j);
    const x = elem<T>(cj, j);
    const n = len - j;
    const alpha = get<T>(x, 0);
    const tail = n > 1 ? Math.sqrt(dot<T>(elem<T>(x, 1), elem<T>(x, 1), n - 1)) : 0.0;
    let t = 0.0;
    if (tail != 0) {
      const beta = (alpha < 0 ? Math.hypot(alpha, tail) : -Math.hypot(alpha, tail));
      t = (beta - alpha) / beta;
      scale<T>(elem<T>(x, 1), n - 1, 1.0 / (alpha - beta));
      set<T>(x, 0, beta);
    }
    store<f64>(tau + (<usize>j << 3), t);
    if (t != 0) {
      // Apply H_j to columns j+1..cols: c -= tau·(vᵀc)·v, with v[0] = 1.
      for (let k = j + 1; k < cols; k++) {
        const y = elem<T>(col<T>(w, ld, k), j);
        const s = t * (get<T>(y, 0) + (n > 1 ? dot<T>(elem<T>(x, 1), elem<T>(y, 1), n - 1) : 0.0));
        set<T>(y, 0, get<T>(y, 0) - s);
        if (n > 1) axpy<T>(elem<T>(y, 1), elem<T>(x, 1), n - 1, -s);
      }
    }
    if (pivot) {
      // Downdate the partial norms of the remaining columns.
      for (let k = j + 1; k < cols; k++) {
        const pk1 = vn1 + (<usize>k << 3), pk2 = vn2 + (<usize>k << 3);
        const v1 = load<f64>(pk1);
        if (v1 == 0) continue;
        const ck = col<T>(w, ld, k);
        let r = Math.abs(get<T>(ck, j)) / v1;
        let temp = 1.0 - r * r;
        if (temp < 0) temp = 0;
        const ratio = v1 / load<f64>(pk2);
        if (temp * ratio * ratio <= tol3z) {
          const nrm = j + 1 < len ? Math.sqrt(dot<T>(elem<T>(ck, j + 1), elem<T>(ck, j + 1), len - j - 1)) : 0.0;
          store<f64>(pk1, nrm);
          store<f64>(pk2, nrm);
        } else {
          store<f64>(pk1, v1 * Math.sqrt(temp));
        }
      }
    }
  }
}

/**
 * y ← Q·y for Q = H_0·…·H_{cols−1} from qr() (y: a vector of length len).
 * Reflectors are applied last to first.
 */
export function applyQ<T>(w: usize, ld: i32, len: i32, cols: i32, tau: usize, y: usize): void {
  for (let j = cols - 1; j >= 0; j--) {
    const t = load<f64>(tau + (<usize>j << 3));
    if (t == 0) continue;
    const v = elem<T>(col<T>(w, ld, j), j);
    const yj = elem<T>(y, j);
    const n = len - j;
    const s = t * (get<T>(yj, 0) + (n > 1 ? dot<T>(elem<T>(v, 1), elem<T>(yj, 1), n - 1) : 0.0));
    set<T>(yj, 0, get<T>(yj, 0) - s);
    if (n > 1) axpy<T>(elem<T>(yj, 1), elem<T>(v, 1), n - 1, -s);
  }
}
