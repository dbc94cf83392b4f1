// Reference singular values in double-double arithmetic (about 32 significant
// digits): a plain one-sided Jacobi, slow and independent of the library.
// Its absolute error is ~1e-31·‖A‖, so it resolves singular values down to
// ~1e-17·‖A‖ to better than 1e-13 relative: enough to check the f64 SVD's
// relative accuracy on graded matrices.

function twoSum(a, b) {
  const s = a + b, bb = s - a;
  return [s, (a - (s - bb)) + (b - bb)];
}
function quickTwoSum(a, b) {
  const s = a + b;
  return [s, b - (s - a)];
}
function split(a) {
  const c = 134217729 * a, hi = c - (c - a);
  return [hi, a - hi];
}
function twoProd(a, b) {
  const p = a * b;
  const [ah, al] = split(a), [bh, bl] = split(b);
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}
const add = (a, b) => { const [s, e] = twoSum(a[0], b[0]); return quickTwoSum(s, e + a[1] + b[1]); };
const neg = (a) => [-a[0], -a[1]];
const sub = (a, b) => add(a, neg(b));
const mul = (a, b) => { const [p, e] = twoProd(a[0], b[0]); return quickTwoSum(p, e + a[0] * b[1] + a[1] * b[0]); };
function div(a, b) {
  const q1 = a[0] / b[0];
  let r = sub(a, mul([q1, 0], b));
  const q2 = r[0] / b[0];
  r = sub(r, mul([q2, 0], b));
  const q3 = r[0] / b[0];
  return add(quickTwoSum(q1, q2), [q3, 0]);
}
function sqrt(a) {
  if (a[0] <= 0) return [0, 0];
  const x = Math.sqrt(a[0]);
  const r = sub(a, mul([x, 0], [x, 0]));
  return quickTwoSum(x, r[0] / (2 * x));
}
const abs = (a) => (a[0] < 0 ? neg(a) : a);
const ONE = [1, 0];

/** Singular values (descending, as numbers) of the row-major m×n float64 matrix a. */
export function ddSingularValues(a, m, n) {
  if (m < n) {
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
    return ddSingularValues(t, n, m);
  }
  const cols = [];
  for (let j = 0; j < n; j++) cols.push(Array.from({ length: m }, (_, i) => [a[i * n + j], 0]));
  const dotc = (x, y) => x.reduce((s, xi, i) => add(s, mul(xi, y[i])), [0, 0]);
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = dotc(cols[p], cols[p]), beta = dotc(cols[q], cols[q]), gamma = dotc(cols[p], cols[q]);
        if (alpha[0] === 0 || beta[0] === 0) continue;
        if (Math.abs(gamma[0]) <= 1e-31 * Math.sqrt(alpha[0]) * Math.sqrt(beta[0])) continue;
        rotated = true;
        const zeta = div(sub(beta, alpha), mul([2, 0], gamma));
        const t0 = div(ONE, add(abs(zeta), sqrt(add(ONE, mul(zeta, zeta)))));
        const t = zeta[0] < 0 ? neg(t0) : t0;
        const c = div(ONE, sqrt(add(ONE, mul(t, t))));
        const s = mul(c, t);
        for (let i = 0; i < m; i++) {
          const x = cols[p][i], y = cols[q][i];
          cols[p][i] = sub(mul(c, x), mul(s, y));
          cols[q][i] = add(mul(s, x), mul(c, y));
        }
      }
    }
    if (!rotated) break;
  }
  return cols.map((x) => { const s = sqrt(dotc(x, x)); return s[0] + s[1]; }).sort((x, y) => y - x);
}

/** Σ x[i]·y[i] in double-double, rounded to the nearest double. */
export function ddDot(x, y) {
  let s = [0, 0];
  for (let i = 0; i < x.length; i++) s = add(s, mul([x[i], 0], [y[i], 0]));
  return s[0] + s[1];
}

/** a − Σ x[i]·y[i] in double-double, rounded: a residual entry without the test's own rounding error. */
export function ddResidual(a, x, y) {
  let s = [a, 0];
  for (let i = 0; i < x.length; i++) s = sub(s, mul([x[i], 0], [y[i], 0]));
  return s[0] + s[1];
}
