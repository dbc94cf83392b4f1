// SVD cases: LAPACK's test ratios on the classic matrix families (f64 and f32),
// relative accuracy on graded matrices against a double-double reference,
// options and typed errors.
import { rng, assert, expectError, pow2 } from './util.mjs';
import { ddSingularValues, ddResidual, ddDot } from './dd.mjs';

// ε of LAPACK's test routines (xBDT01, xORT01): xLAMCH('Precision') = ulp = 2^-52 / 2^-23.
const EPS = { f64: 2 ** -52, f32: 2 ** -23 };
const TYPES = { f64: Float64Array, f32: Float32Array };

export const cases = [];

// Test inputs must be the same bits in every engine: no Math.pow/exp/cos here
// (engines differ in their last bits), only exact operations.


/** n uniform values in [-1, 1) as float64. */
function randomF64(n, seed) {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

/** An m×n matrix with orthonormal columns (m ≥ n): Gram–Schmidt, twice, in float64. */
function orthonormal(m, n, seed) {
  const q = randomF64(m * n, seed);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += q[i * n + k] * q[i * n + j];
        for (let i = 0; i < m; i++) q[i * n + j] -= d * q[i * n + k];
      }
    }
    let s = 0;
    for (let i = 0; i < m; i++) s += q[i * n + j] * q[i * n + j];
    s = Math.sqrt(s);
    for (let i = 0; i < m; i++) q[i * n + j] /= s;
  }
  return q;
}

/** U·diag(d)·Vᵀ for random orthonormal U (m×p), V (n×p), p = d.length. */
function withSingularValues(m, n, d, seed) {
  const p = d.length;
  const u = orthonormal(m, p, seed), v = orthonormal(n, p, seed + 1);
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += u[i * p + k] * d[k] * v[j * p + k];
    a[i * n + j] = s;
  }
  return a;
}

function product(x, y, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const xv = x[i * k + p];
    for (let j = 0; j < n; j++) c[i * n + j] += xv * y[p * n + j];
  }
  return c;
}

/** 1-norm (largest column sum of magnitudes) of a rows×cols row-major matrix. */
function norm1(x, rows, cols) {
  let best = 0;
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += Math.abs(x[i * cols + j]);
    best = Math.max(best, s);
  }
  return best;
}

/** ‖I − XᵀX‖₁ for a rows×cols X (columns should be orthonormal), dot products in double-double. */
function orthogonalityLoss(x, rows, cols) {
  const e = new Float64Array(cols * cols);
  const colOf = (k) => Float64Array.from({ length: rows }, (_, i) => x[i * cols + k]);
  const c = Array.from({ length: cols }, (_, k) => colOf(k));
  for (let k = 0; k < cols; k++) for (let l = 0; l < cols; l++) e[k * cols + l] = (k === l ? 1 : 0) - ddDot(c[k], c[l]);
  return norm1(e, cols, cols);
}

/** a_ij − Σ_k U[i][k]·S[k]·Vt[k][j], in double-double. */
function ddResidual3(aij, r, i, j, n, p) {
  const x = new Float64Array(p), y = new Float64Array(p);
  for (let k = 0; k < p; k++) { x[k] = r.U[i * p + k]; y[k] = r.S[k] * r.Vt[k * n + j]; }
  return ddResidual(aij, x, y);
}

function transpose(x, rows, cols) {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
  return t;
}

/**
 * LAPACK's SVD test ratios (xCHKBD / xDRVBD, 1-norm):
 *   r1 = ‖A − U·S·Vt‖/(‖A‖·max(m, n)·ε) < 1,  rU = ‖I − UᵀU‖/(m·ε) < 10,  rV = ‖I − Vt·Vtᵀ‖/(n·ε) < 10,
 * plus S descending and non-negative, and the sign rule on U.
 */
export function checkSvd(r, a, m, n, type, label) {
  const eps = EPS[type], p = Math.min(m, n);
  // The ratios do not depend on scale: bring A and S near 1 by a power of two (exact),
  // so that the double-double residual cannot overflow.
  let amax = 0;
  for (const v of a) amax = Math.max(amax, Math.abs(v));
  const sc = amax > 0 ? 2 ** -Math.round(Math.log2(amax)) : 1;
  a = a.map((v) => v * sc);
  r = { ...r, S: Float64Array.from(r.S, (v) => v * sc) };
  assert(r.S.length === p && r.U.length === m * p && r.Vt.length === p * n, `${label}: output shapes`);
  for (let k = 0; k < p; k++) {
    assert(r.S[k] >= 0 && (k === 0 || r.S[k] <= r.S[k - 1]), `${label}: S not descending/non-negative at ${k}: ${r.S[k]}`);
  }
  // Residual and orthogonality in double-double, so the ratios measure the SVD, not this test.
  const res = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) res[i * n + j] = ddResidual3(a[i * n + j], r, i, j, n, p);
  const anorm = norm1(a, m, n), rnorm = norm1(res, m, n);
  const r1 = anorm === 0 ? (rnorm === 0 ? 0 : Infinity) : rnorm / anorm / (Math.max(m, n) * eps);
  const rU = orthogonalityLoss(r.U, m, p) / (m * eps);
  const rV = orthogonalityLoss(transpose(r.Vt, p, n), n, p) / (n * eps);
  assert(r1 < 1, `${label}: r1 = ${r1} ≥ 1`);
  assert(rU < 10, `${label}: rU = ${rU} ≥ 10`);
  assert(rV < 10, `${label}: rV = ${rV} ≥ 10`);
  for (let k = 0; k < p; k++) {
    let best = -1, v = 0;
    for (let i = 0; i < m; i++) if (Math.abs(r.U[i * p + k]) > best) { best = Math.abs(r.U[i * p + k]); v = r.U[i * p + k]; }
    assert(v > 0, `${label}: largest entry of U column ${k} is not positive`);
  }
  assert(r.converged, `${label}: not converged after ${r.sweeps} sweeps`);
}

/** Kahan's matrix diag(1, s, …, s^(n−1))·(I − c·strict upper ones), c² + s² = 1. */
function kahan(n, c, s) {
  const k = new Float64Array(n * n);
  let si = 1;
  for (let i = 0; i < n; i++) {
    k[i * n + i] = si;
    for (let j = i + 1; j < n; j++) k[i * n + j] = -c * si;
    si *= s;
  }
  return k;
}

/** The families of LAPACK's SVD tests, for element type `type`. */
function families(type) {
  const eps = EPS[type], bits = type === 'f64' ? 52 : 23;
  const tiny = type === 'f64' ? 1e-300 : 1e-30, huge = type === 'f64' ? 1e300 : 1e30;
  const geometric = (n) => Float64Array.from({ length: n }, (_, i) => pow2(-Math.round(bits * i / (n - 1))));
  const arithmetic = (n) => Float64Array.from({ length: n }, (_, i) => 1 - (1 - eps) * i / (n - 1));
  const clustered = (n) => Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 + i * 16 * eps : 0.5 - i * 1e-3));
  return [
    ['zero 6x4', 6, 4, () => new Float64Array(24)],
    ['identity 7x7', 7, 7, () => Float64Array.from({ length: 49 }, (_, i) => (i % 8 === 0 ? 1 : 0))],
    ['random 40x25', 40, 25, () => randomF64(1000, 1)],
    ['random 25x40', 25, 40, () => randomF64(1000, 2)],
    ['random 30x30', 30, 30, () => randomF64(900, 3)],
    ['random 1x17', 1, 17, () => randomF64(17, 4)],
    ['random 17x1', 17, 1, () => randomF64(17, 5)],
    ['geometric spectrum 1..eps 24x20', 24, 20, () => withSingularValues(24, 20, geometric(20), 6)],
    ['arithmetic spectrum 1..eps 20x24', 20, 24, () => withSingularValues(20, 24, arithmetic(20), 8)],
    ['clustered spectrum 22x22', 22, 22, () => withSingularValues(22, 22, clustered(22), 10)],
    ['rank 4 of 30x20', 30, 20, () => product(randomF64(120, 12), randomF64(80, 13), 30, 4, 20)],
    ['Kahan 20x20', 20, 20, () => kahan(20, 0.8, 0.6)],
    ['near underflow 20x15', 20, 15, () => randomF64(300, 14).map((x) => x * tiny)],
    ['near overflow 15x20', 15, 20, () => randomF64(300, 15).map((x) => x * huge)],
  ];
}

for (const type of ['f64', 'f32']) {
  for (const [name, m, n, make] of families(type)) {
    cases.push({
      name: `svd ${type} ${name}`,
      run({ bw }) {
        const a = TYPES[type].from(make());
        const r = bw.svd(a, m, n);
        assert(r.S instanceof TYPES[type] && r.U instanceof TYPES[type] && r.Vt instanceof TYPES[type], 'output element type');
        checkSvd(r, Float64Array.from(a), m, n, type, name);
        return [r.U, r.S, r.Vt];
      },
    });
  }
}

/** Graded matrices: B well conditioned, D spanning 14 orders of magnitude, rows and columns shuffled. */
function graded(kind, m, n, seed) {
  const r = rng(seed);
  const b = randomF64(m * n, seed).map((x) => 0.3 * x);
  for (let i = 0; i < Math.min(m, n); i++) b[i * n + i] += 1;
  // 2^0 … 2^-47: 14 decades.
  const d = (len) => Float64Array.from({ length: len }, (_, i) => pow2(-Math.round(47 * i / (len - 1))));
  const shuffle = (len) => {
    const p = Array.from({ length: len }, (_, i) => i);
    for (let i = len - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
    return p;
  };
  const rowScale = kind === 'D·B' || kind === 'D1·B·D2' ? d(m) : new Float64Array(m).fill(1);
  const colScale = kind === 'B·D' || kind === 'D1·B·D2' ? d(n) : new Float64Array(n).fill(1);
  const rp = shuffle(m), cp = shuffle(n);
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = rowScale[rp[i]] * b[i * n + j] * colScale[cp[j]];
  return a;
}

for (const kind of ['B·D', 'D·B', 'D1·B·D2']) {
  for (const [m, n] of [[14, 10], [10, 10], [9, 13]]) {
    cases.push({
      name: `svd f64 relative accuracy, graded ${kind} ${m}x${n}`,
      run({ bw }) {
        const a = graded(kind, m, n, 100 + m * n);
        const r = bw.svd(a, m, n);
        const ref = ddSingularValues(a, m, n);
        let worst = 0;
        for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(r.S[k] - ref[k]) / ref[k]);
        assert(ref[ref.length - 1] < 1e-8 * ref[0], `${kind}: the test matrix should be graded (σmin/σmax = ${ref[ref.length - 1] / ref[0]})`);
        assert(worst <= 1e-13, `${kind} ${m}x${n}: max |Δσ|/σ = ${worst} > 1e-13`);
        checkSvd(r, a, m, n, 'f64', `graded ${kind}`);
        return [r.S];
      },
    });
  }
}

cases.push({
  name: 'svd options: computeUV false, sweep cap, element types',
  run({ bw }) {
    const m = 18, n = 12;
    const a = randomF64(m * n, 40);
    const full = bw.svd(a, m, n);
    const values = bw.svd(a, m, n, { computeUV: false });
    assert(values.U === null && values.Vt === null, 'computeUV: false returns null U and Vt');
    for (let k = 0; k < n; k++) assert(values.S[k] === full.S[k], `S differs without vectors at ${k}`);
    const capped = bw.svd(a, m, n, { maxSweeps: 1 });
    assert(capped.converged === false && capped.sweeps === 1, `a 1-sweep cap must report converged: false (got ${capped.converged}, ${capped.sweeps})`);
    const f32 = bw.svd(Float32Array.from(a), m, n);
    for (let k = 0; k < n; k++) {
      assert(Math.abs(f32.S[k] - full.S[k]) <= 1e-5 * full.S[0], `f32 and f64 singular values disagree at ${k}`);
    }
    return [values.S, f32.S];
  },
});

cases.push({
  name: 'svd typed errors',
  async run({ bw }) {
    const a = new Float64Array(12);
    await expectError(() => bw.svd(a, 3, 5), 'SHAPE');
    await expectError(() => bw.svd(a, 0, 4), 'EMPTY');
    await expectError(() => bw.svd(Array.from(a), 3, 4), 'ARG');
    await expectError(() => bw.svd(new Int32Array(12), 3, 4), 'ARG');
    const nan = new Float64Array(12); nan[5] = NaN;
    await expectError(() => bw.svd(nan, 3, 4), 'NON_FINITE');
    const inf = new Float32Array(12); inf[0] = -Infinity;
    await expectError(() => bw.svd(inf, 3, 4), 'NON_FINITE');
    await expectError(() => bw.svd(a, 3, 4, { maxSweeps: 0 }), 'ARG');
    await expectError(() => bw.svd(a, 3, 4, { computeUV: 'no' }), 'ARG');
    await expectError(() => bw.svd(a, 100000, 100000), 'TOO_LARGE');
  },
});

/** ‖A − U·diag(S)·Vt‖_F in float64. */
function frobeniusResidual(a, r, m, n, k) {
  let sum = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = a[i * n + j];
    for (let c = 0; c < k; c++) s -= r.U[i * k + c] * r.S[c] * r.Vt[c * n + j];
    sum += s * s;
  }
  return Math.sqrt(sum);
}

/**
 * An m×n matrix of `type` with singular values σ_i = ratio^i (products only: the same bits in
 * every engine), and the optimal rank-k Frobenius error √(Σ_{i≥k} σ_i²).
 */
function geometricSpectrum(type, m, n, k, ratio, seed) {
  const d = new Float64Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) { d[i] = s; s *= ratio; }
  let tail = 0;
  for (let i = k; i < n; i++) tail += d[i] * d[i];
  return { a: TYPES[type].from(withSingularValues(m, n, d, seed)), d, optimal: Math.sqrt(tail) };
}

for (const type of ['f64', 'f32']) {
  cases.push({
    name: `svd ${type} rank-k: randomized subspace iteration vs the exact truncation`,
    run({ bw }) {
      // Known spectrum σ_i = 0.9^i: the optimal rank-k error is √(Σ_{i≥k} σ_i²).
      const m = 120, n = 80, k = 8;
      const { a, d, optimal } = geometricSpectrum(type, m, n, k, 0.9, 60);
      const r = bw.svd(a, m, n, { rank: k });
      assert(r.U.length === m * k && r.S.length === k && r.Vt.length === k * n, 'rank-k output shapes');
      assert(r.converged, 'rank-k Jacobi converged');
      const excess = frobeniusResidual(a, r, m, n, k) / optimal - 1;
      assert(excess >= -1e-6 && excess < 0.005, `excess error ${excess} (q = 2)`);
      const q0 = bw.svd(a, m, n, { rank: k, powerIters: 0 });
      const excess0 = frobeniusResidual(a, q0, m, n, k) / optimal - 1;
      assert(excess0 > excess, `power iterations should help: q=0 ${excess0}, q=2 ${excess}`);
      // U and V orthonormal, singular values close to the true ones.
      assert(orthogonalityLoss(r.U, m, k) < 1e-4, 'U orthonormal');
      assert(orthogonalityLoss(transpose(r.Vt, k, n), n, k) < 1e-4, 'V orthonormal');
      for (let i = 0; i < k; i++) assert(Math.abs(r.S[i] - d[i]) < 0.02 * d[i], `σ${i} = ${r.S[i]}, true ${d[i]}`);
      // Same seed, same bits; another seed, another sketch.
      const again = bw.svd(a, m, n, { rank: k });
      for (let i = 0; i < k; i++) assert(again.S[i] === r.S[i], 'same seed must give the same result');
      const other = bw.svd(a, m, n, { rank: k, seed: 7 });
      assert(other.S.some((v, i) => v !== r.S[i]), 'another seed should give another sketch');
      const values = bw.svd(a, m, n, { rank: k, computeUV: false });
      assert(values.U === null && values.S.length === k, 'rank-k with computeUV: false');
      return [r.U, r.S, r.Vt, q0.S];
    },
  });
}

cases.push({
  name: 'svd rank-k option errors',
  async run({ bw }) {
    const a = new Float32Array(12 * 8);
    await expectError(() => bw.svd(a, 12, 8, { rank: 0 }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 9 }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 2.5 }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 2, oversample: -1 }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 2, powerIters: -1 }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 2, seed: -3 }), 'ARG');
    // rank = min(m, n) with any oversampling is the full space: exact up to rounding.
    const b = Float32Array.from(randomF64(12 * 8, 70));
    const full = bw.svd(b, 12, 8), r = bw.svd(b, 12, 8, { rank: 8 });
    for (let i = 0; i < 8; i++) assert(Math.abs(r.S[i] - full.S[i]) <= 1e-5 * full.S[0], `rank = min(m,n): σ${i}`);
  },
});

for (const type of ['f64', 'f32']) {
  cases.push({
    name: `svd ${type} rank-k: block Krylov contains subspace iteration's range, and beats it`,
    run({ bw }) {
      // σ_i = 0.97^i (slow decay: the range finders differ). The Krylov basis [Q₀ … Q_q] spans
      // (A·Aᵀ)^q·A·Ω as well, for the same Ω (b = ℓ = 8: same seed, same sketch), and the rank-k
      // truncation of A within a larger subspace is at least as good.
      const m = 150, n = 100, k = 8;
      const { a, optimal } = geometricSpectrum(type, m, n, k, 0.97, 80);
      const opts = { rank: k, oversample: 0, powerIters: 2 };
      const sub = bw.svd(a, m, n, opts);
      const kry = bw.svd(a, m, n, { ...opts, rangeFinder: 'krylov' });
      assert(kry.U.length === m * k && kry.S.length === k && kry.Vt.length === k * n, 'Krylov output shapes');
      assert(kry.converged, 'Krylov: Jacobi converged');
      const es = frobeniusResidual(a, sub, m, n, k) / optimal - 1;
      const ek = frobeniusResidual(a, kry, m, n, k) / optimal - 1;
      assert(ek >= -1e-5 && ek <= es + 1e-5, `Krylov excess ${ek} should not exceed subspace's ${es}`);
      assert(ek < 0.02, `Krylov excess error ${ek} (subspace ${es}; 0.0167 when written)`);
      const tol = type === 'f64' ? 1e-12 : 1e-4;
      assert(orthogonalityLoss(kry.U, m, k) < tol, 'Krylov U orthonormal');
      assert(orthogonalityLoss(transpose(kry.Vt, k, n), n, k) < tol, 'Krylov V orthonormal');
      return [kry.U, kry.S, kry.Vt];
    },
  });

  cases.push({
    name: `svd ${type} rank-k: block Krylov on a matrix of lower rank than its basis`,
    run({ bw }) {
      // Rank 3, basis of 4 blocks of 8: after Q₀ every new block is rounding noise, and must
      // still come out orthogonal to the others (else U is not orthonormal).
      const m = 60, n = 40, k = 2;
      const a = TYPES[type].from(product(randomF64(m * 3, 81), randomF64(3 * n, 82), m, 3, n));
      const full = bw.svd(a, m, n);
      const r = bw.svd(a, m, n, { rank: k, oversample: 6, powerIters: 3, rangeFinder: 'krylov' });
      const tol = type === 'f64' ? 1e-12 : 1e-4;
      for (let i = 0; i < k; i++) assert(Math.abs(r.S[i] - full.S[i]) <= tol * full.S[0], `σ${i} = ${r.S[i]}, full ${full.S[i]}`);
      assert(orthogonalityLoss(r.U, m, k) < tol, 'U orthonormal');
      assert(orthogonalityLoss(transpose(r.Vt, k, n), n, k) < tol, 'V orthonormal');
      // Rank 3 with exact zeros: A·Aᵀ·Q₀ lies exactly in span(Q₀), the new blocks project to
      // zero, and their Householder completions are unit vectors already in Q₀.
      const diag = new (TYPES[type])(m * n);
      for (let i = 0; i < 3; i++) diag[i * n + i] = 3 - i;
      const dr = bw.svd(diag, m, n, { rank: k, oversample: 6, powerIters: 3, rangeFinder: 'krylov' });
      assert(Math.abs(dr.S[0] - 3) <= 4 * tol && Math.abs(dr.S[1] - 2) <= 4 * tol, `diagonal: S = ${dr.S}`);
      assert(orthogonalityLoss(dr.U, m, k) < tol, 'diagonal: U orthonormal');
      // Basis wider than min(m, n): capped, exact up to rounding.
      const wide = bw.svd(a, m, n, { rank: k, oversample: 30, powerIters: 5, rangeFinder: 'krylov' });
      for (let i = 0; i < k; i++) assert(Math.abs(wide.S[i] - full.S[i]) <= tol * full.S[0], `capped basis: σ${i}`);
      return [r.U, r.S, r.Vt, wide.S, dr.U, dr.S];
    },
  });
}

cases.push({
  name: 'svd rank-k: rangeFinder errors',
  async run({ bw }) {
    const a = new Float32Array(12 * 8);
    await expectError(() => bw.svd(a, 12, 8, { rank: 2, rangeFinder: 'lanczos' }), 'ARG');
    await expectError(() => bw.svd(a, 12, 8, { rank: 2, rangeFinder: 'krylov', powerIters: -1 }), 'ARG');
  },
});
