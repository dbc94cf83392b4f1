// Orthonormal DCT-II of every row of a rows×n f32 matrix, O(n log n) per row,
// by Makhoul's method: reorder the row (even samples ascending, odd samples
// descending), take one length-n DFT, and rotate: y[k] = c_k·Re(e^{−iπk/2n}·V[k]).
// Two real rows share one complex DFT (one as the real part, one as the
// imaginary part), separated afterwards through conjugate symmetry.

import { alloc, mark, release, paddedBytes } from '../arena';
import { makePlan, planBytes, dft } from './fft';

/** Writes the DCT-II (orthonormal) of each row of x (rows×n) to y (rows×n). Returns false when out of memory. */
export function dctRowsFft(x: usize, rows: i32, n: i32, y: usize): bool {
  const saved = mark();
  const plan = makePlan(n);
  const re = alloc(<usize>n << 2), im = alloc(<usize>n << 2);
  const rotC = alloc(<usize>n << 2), rotS = alloc(<usize>n << 2);
  if (plan === null || re == 0 || im == 0 || rotC == 0 || rotS == 0) {
    release(saved);
    return false;
  }
  // Post-rotation with the orthonormal scale folded in: c_k·cos(πk/2n), c_k·sin(πk/2n).
  const c0 = Math.sqrt(1.0 / <f64>n), ck = Math.sqrt(2.0 / <f64>n);
  for (let k = 0; k < n; k++) {
    const angle = Math.PI * <f64>k / (2.0 * <f64>n);
    const c = k == 0 ? c0 : ck;
    store<f32>(rotC + (<usize>k << 2), <f32>(c * Math.cos(angle)));
    store<f32>(rotS + (<usize>k << 2), <f32>(c * Math.sin(angle)));
  }
  const half = (n + 1) >> 1;
  for (let r = 0; r < rows; r += 2) {
    const a = x + (<usize>r * <usize>n << 2);
    const two = r + 1 < rows;
    const b = a + (<usize>n << 2);
    // Reorder: v[k] = x[2k], v[n−1−k] = x[2k+1].
    for (let k = 0; k < half; k++) {
      store<f32>(re + (<usize>k << 2), load<f32>(a + (<usize>(2 * k) << 2)));
      store<f32>(im + (<usize>k << 2), two ? load<f32>(b + (<usize>(2 * k) << 2)) : 0);
    }
    for (let k = 0; k < n - half; k++) {
      store<f32>(re + (<usize>(n - 1 - k) << 2), load<f32>(a + (<usize>(2 * k + 1) << 2)));
      store<f32>(im + (<usize>(n - 1 - k) << 2), two ? load<f32>(b + (<usize>(2 * k + 1) << 2)) : 0);
    }
    dft(plan, re, im);
    const ya = y + (<usize>r * <usize>n << 2), yb = ya + (<usize>n << 2);
    for (let k = 0; k < n; k++) {
      const o = <usize>k << 2, oc = <usize>((n - k) % n) << 2;
      const zr = load<f32>(re + o), zi = load<f32>(im + o);
      const cr = load<f32>(re + oc), ci = load<f32>(im + oc);
      const c = load<f32>(rotC + o), s = load<f32>(rotS + o);
      // V_a = (Z[k] + conj Z[n−k])/2, V_b = (Z[k] − conj Z[n−k])/(2i).
      const aRe = <f32>0.5 * (zr + cr), aIm = <f32>0.5 * (zi - ci);
      store<f32>(ya + o, c * aRe + s * aIm);
      if (two) {
        const bRe = <f32>0.5 * (zi + ci), bIm = <f32>0.5 * (cr - zr);
        store<f32>(yb + o, c * bRe + s * bIm);
      }
    }
  }
  release(saved);
  return true;
}

/** Arena bytes dctRowsFft() allocates for rows of length n. */
export function dctRowsFftScratchBytes(n: i32): f64 {
  return planBytes(n) + 4 * paddedBytes(<f64>n * 4);
}
