// Vector primitives of the SVD kernels, generic over f32 and f64 (T), on
// contiguous vectors: one-sided Jacobi keeps every column it rotates
// contiguous, and so do the Householder steps (they work on Aᵀ).
// Each sums in a fixed order (SIMD lanes, then lanes combined 0+1+2+3, then
// the scalar tail), so results are deterministic. f32 data is summed in f32:
// the SVD scales its input to max |a| ≈ 1 first, so squares cannot overflow.

@inline function isF64<T>(): bool {
  return sizeof<T>() == 8;
}

/** Σ x[i]·y[i]. */
export function dot<T>(x: usize, y: usize, n: i32): f64 {
  let i = 0;
  if (isF64<T>()) {
    let a = f64x2.splat(0), b = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 3;
      a = f64x2.add(a, f64x2.mul(v128.load(x + o), v128.load(y + o)));
      b = f64x2.add(b, f64x2.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
    }
    a = f64x2.add(a, b);
    let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
    for (; i < n; i++) s += load<f64>(x + (<usize>i << 3)) * load<f64>(y + (<usize>i << 3));
    return s;
  } else {
    let a = f32x4.splat(0), b = f32x4.splat(0);
    for (; i + 8 <= n; i += 8) {
      const o = <usize>i << 2;
      a = f32x4.add(a, f32x4.mul(v128.load(x + o), v128.load(y + o)));
      b = f32x4.add(b, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
    }
    a = f32x4.add(a, b);
    let s: f32 = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
    for (; i < n; i++) s += load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
    return <f64>s;
  }
}

/**
 * Plane rotation x' = c·x − s·y, y' = s·x + c·y (c, s computed in f64, applied in T).
 * Returns Σx'² and writes Σy'² to `sumY` (one f64 slot), so norms come for free.
 */
export function rotate<T>(x: usize, y: usize, n: i32, c: f64, s: f64, sumY: usize): f64 {
  let i = 0;
  if (isF64<T>()) {
    const cv = f64x2.splat(c), sv = f64x2.splat(s);
    let nx = f64x2.splat(0), ny = f64x2.splat(0);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      const xr = f64x2.sub(f64x2.mul(cv, xv), f64x2.mul(sv, yv));
      const yr = f64x2.add(f64x2.mul(sv, xv), f64x2.mul(cv, yv));
      v128.store(x + o, xr);
      v128.store(y + o, yr);
      nx = f64x2.add(nx, f64x2.mul(xr, xr));
      ny = f64x2.add(ny, f64x2.mul(yr, yr));
    }
    let sx = f64x2.extract_lane(nx, 0) + f64x2.extract_lane(nx, 1);
    let sy = f64x2.extract_lane(ny, 0) + f64x2.extract_lane(ny, 1);
    for (; i < n; i++) {
      const o = <usize>i << 3;
      const xv = load<f64>(x + o), yv = load<f64>(y + o);
      const xr = c * xv - s * yv, yr = s * xv + c * yv;
      store<f64>(x + o, xr);
      store<f64>(y + o, yr);
      sx += xr * xr;
      sy += yr * yr;
    }
    store<f64>(sumY, sy);
    return sx;
  } else {
    const cf = <f32>c, sf = <f32>s;
    const cv = f32x4.splat(cf), sv = f32x4.splat(sf);
    let nx = f32x4.splat(0), ny = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      const xr = f32x4.sub(f32x4.mul(cv, xv), f32x4.mul(sv, yv));
      const yr = f32x4.add(f32x4.mul(sv, xv), f32x4.mul(cv, yv));
      v128.store(x + o, xr);
      v128.store(y + o, yr);
      nx = f32x4.add(nx, f32x4.mul(xr, xr));
      ny = f32x4.add(ny, f32x4.mul(yr, yr));
    }
    let sx: f32 = (f32x4.extract_lane(nx, 0) + f32x4.extract_lane(nx, 1)) + (f32x4.extract_lane(nx, 2) + f32x4.extract_lane(nx, 3));
    let sy: f32 = (f32x4.extract_lane(ny, 0) + f32x4.extract_lane(ny, 1)) + (f32x4.extract_lane(ny, 2) + f32x4.extract_lane(ny, 3));
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const xv = load<f32>(x + o), yv = load<f32>(y + o);
      const xr = cf * xv - sf * yv, yr = sf * xv + cf * yv;
      store<f32>(x + o, xr);
      store<f32>(y + o, yr);
      sx += xr * xr;
      sy += yr * yr;
    }
    store<f64>(sumY, <f64>sy);
    return <f64>sx;
  }
}

/** Rotation without the norms (for the accumulated singular vectors). */
export function rotatePlain<T>(x: usize, y: usize, n: i32, c: f64, s: f64): void {
  let i = 0;
  if (isF64<T>()) {
    const cv = f64x2.splat(c), sv = f64x2.splat(s);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      v128.store(x + o, f64x2.sub(f64x2.mul(cv, xv), f64x2.mul(sv, yv)));
      v128.store(y + o, f64x2.add(f64x2.mul(sv, xv), f64x2.mul(cv, yv)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 3;
      const xv = load<f64>(x + o), yv = load<f64>(y + o);
      store<f64>(x + o, c * xv - s * yv);
      store<f64>(y + o, s * xv + c * yv);
    }
  } else {
    const cf = <f32>c, sf = <f32>s;
    const cv = f32x4.splat(cf), sv = f32x4.splat(sf);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      v128.store(x + o, f32x4.sub(f32x4.mul(cv, xv), f32x4.mul(sv, yv)));
      v128.store(y + o, f32x4.add(f32x4.mul(sv, xv), f32x4.mul(cv, yv)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const xv = load<f32>(x + o), yv = load<f32>(y + o);
      store<f32>(x + o, cf * xv - sf * yv);
      store<f32>(y + o, sf * xv + cf * yv);
    }
  }
}

/** y += alpha·x. */
export function axpy<T>(y: usize, x: usize, n: i32, alpha: f64): void {
  let i = 0;
  if (isF64<T>()) {
    const av = f64x2.splat(alpha);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(av, v128.load(x + o))));
    }
    for (; i < n; i++) {
      const o = <usize>i << 3;
      store<f64>(y + o, load<f64>(y + o) + alpha * load<f64>(x + o));
    }
  } else {
    const af = <f32>alpha;
    const av = f32x4.splat(af);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, v128.load(x + o))));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, load<f32>(y + o) + af * load<f32>(x + o));
    }
  }
}

/** x *= alpha. */
export function scale<T>(x: usize, n: i32, alpha: f64): void {
  for (let i = 0; i < n; i++) {
    const p = x + (<usize>i) * sizeof<T>();
    store<T>(p, <T>(<f64>load<T>(p) * alpha));
  }
}

/** Element i of a T vector, as f64. */
@inline export function get<T>(x: usize, i: i32): f64 {
  return <f64>load<T>(x + <usize>i * sizeof<T>());
}

/** Sets element i of a T vector. */
@inline export function set<T>(x: usize, i: i32, v: f64): void {
  store<T>(x + <usize>i * sizeof<T>(), <T>v);
}
