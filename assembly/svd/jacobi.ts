// One-sided (Hestenes) Jacobi on `count` vectors of length `len` (`ld` elements
// apart): rotates pairs until all are mutually orthogonal to working accuracy,
// as LAPACK's xGESVJ. The rotations may be accumulated into V (`count` vectors
// of length `vlen`, starting as the identity).
//
// - Stopping rule per pair: |x_pᵀx_q| ≤ tol·‖x_p‖·‖x_q‖, tol = √len·ε; a sweep
//   without rotation ends the iteration; at most `maxSweeps`.
// - Rotation parameters in f64 even for f32 data (ζ, t, c, s as in Rutishauser /
//   de Rijk); the squared norms are recomputed by the rotation itself.
// - de Rijk pivoting: before pairing column p, the column of largest norm among
//   p.. is moved to position p (through the index array `ord`, no copies).

import { dot, rotate, rotatePlain } from './vec';

@inline function vec<T>(x: usize, ld: i32, i: i32): usize {
  return x + <usize>i * <usize>ld * sizeof<T>();
}

@inline function ordAt(ord: usize, i: i32): i32 {
  return load<i32>(ord + (<usize>i << 2));
}

/**
 * Runs sweeps on X. `nrm2`: count f64 slots, filled here with the squared norms
 * (and kept current); `ord`: count i32 slots of scratch; `scratch`: one f64 slot.
 * Returns the number of sweeps, negated when `maxSweeps` was reached unconverged.
 */
export function jacobi<T>(
  x: usize, ld: i32, len: i32, count: i32, v: usize, vld: i32, vlen: i32,
  nrm2: usize, ord: usize, scratch: usize, eps: f64, maxSweeps: i32,
): i32 {
  for (let i = 0; i < count; i++) {
    const xi = vec<T>(x, ld, i);
    store<f64>(nrm2 + (<usize>i << 3), dot<T>(xi, xi, len));
    store<i32>(ord + (<usize>i << 2), i);
  }
  const tol = Math.sqrt(<f64>len) * eps;
  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    let rotations = 0;
    for (let p = 0; p < count - 1; p++) {
      // de Rijk: the largest remaining column goes first.
      let best = p;
      let bestNorm = load<f64>(nrm2 + (<usize>ordAt(ord, p) << 3));
      for (let q = p + 1; q < count; q++) {
        const nq = load<f64>(nrm2 + (<usize>ordAt(ord, q) << 3));
        if (nq > bestNorm) { best = q; bestNorm = nq; }
      }
      if (best != p) {
        const t = ordAt(ord, p);
        store<i32>(ord + (<usize>p << 2), ordAt(ord, best));
        store<i32>(ord + (<usize>best << 2), t);
      }
      const ip = ordAt(ord, p);
      const xp = vec<T>(x, ld, ip);
      const np = nrm2 + (<usize>ip << 3);
      for (let q = p + 1; q < count; q++) {
        const iq = ordAt(ord, q);
        const nq = nrm2 + (<usize>iq << 3);
        const a = load<f64>(np), b = load<f64>(nq);
        if (a == 0 || b == 0) continue;
        const xq = vec<T>(x, ld, iq);
        const g = dot<T>(xp, xq, len);
        if (Math.abs(g) <= tol * Math.sqrt(a) * Math.sqrt(b)) continue;
        rotations++;
        const zeta = (b - a) / (2 * g);
        const t = zeta > 1e150 || zeta < -1e150
          ? 0.5 / zeta
          : (zeta < 0 ? -1.0 : 1.0) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        store<f64>(np, rotate<T>(xp, xq, len, c, s, scratch));
        store<f64>(nq, load<f64>(scratch));
        if (v) rotatePlain<T>(vec<T>(v, vld, ip), vec<T>(v, vld, iq), vlen, c, s);
      }
    }
    if (rotations == 0) return sweep;
  }
  return -maxSweeps;
}
