// DCT-basis projection: the basis against its definition, the FFT path against
// the matmul path on awkward sizes, selections with known answers, back-projection,
// the SVD projection, and typed errors.
import { randomF32, assert, expectError } from './util.mjs';

const U = 2 ** -24;
export const cases = [];

function normF(x) {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

/** G = S·D (right: S = G·Dᵀ is m×n with the given columns) from a sparse S given as {col: values}. */
function fromRightScores(bw, m, n, columns) {
  const s = new Float32Array(m * n);
  for (const [k, values] of Object.entries(columns)) values.forEach((v, i) => { s[i * n + Number(k)] = v; });
  return bw.matmul(s, bw.dctBasis(n), m, n, n);
}

cases.push({
  name: 'dctBasis: definition, orthonormality',
  run({ bw }) {
    const outputs = [];
    for (const n of [1, 2, 7, 16, 43, 128]) {
      const d = bw.dctBasis(n);
      assert(d.length === n * n, 'basis shape');
      for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) {
        const ref = Math.sqrt((k === 0 ? 1 : 2) / n) * Math.cos(Math.PI * (2 * j + 1) * k / (2 * n));
        assert(Math.abs(d[k * n + j] - ref) <= 2 * U, `D[${k}][${j}] = ${d[k * n + j]}, definition ${ref}`);
      }
      let worst = 0;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += d[a * n + j] * d[b * n + j];
        worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
      }
      assert(worst <= n * 2 * U, `‖D·Dᵀ − I‖max = ${worst} > n·ε for n = ${n}`);
      outputs.push(d);
    }
    return outputs;
  },
});

// The FFT path (radix-2, Bluestein for the rest) against the GEMM with the basis.
const AGREEMENT = [
  ['right', 6, 1], ['right', 5, 2], ['right', 4, 3], ['right', 3, 8], ['right', 3, 13], ['right', 2, 97],
  ['right', 2, 256], ['right', 2, 768], ['right', 1, 1536], ['right', 1, 11008],
  ['left', 13, 40], ['left', 64, 65], ['left', 101, 200], ['left', 43, 9],
];
for (const [side, m, n] of AGREEMENT) {
  cases.push({
    name: `dctSelect fft = matmul, ${side} ${m}x${n}`,
    run({ bw }) {
      const g = randomF32(m * n, m * 31 + n);
      const len = side === 'left' ? m : n;
      const r = Math.min(len, 7);
      const outputs = [];
      for (const norm of ['l1', 'l2']) {
        const a = bw.dctSelect(g, m, n, r, { side, norm, method: 'matmul' });
        const b = bw.dctSelect(g, m, n, r, { side, norm, method: 'fft' });
        assert(a.method === 'matmul' && b.method === 'fft' && a.side === side, 'method and side reported');
        // Scores: the same sums of the same S up to rounding; indices equal except at near-ties.
        const scoreTol = (side === 'left' ? n : m) * Math.sqrt(len) * 8 * U * Math.max(...a.scores);
        for (let i = 0; i < len; i++) assert(Math.abs(a.scores[i] - b.scores[i]) <= scoreTol, `score ${i}: ${a.scores[i]} vs ${b.scores[i]}`);
        for (let t = 0; t < r; t++) {
          if (a.indices[t] === b.indices[t]) continue;
          const d = Math.abs(a.scores[a.indices[t]] - a.scores[b.indices[t]]);
          assert(d <= 2 * scoreTol, `index ${t}: ${a.indices[t]} vs ${b.indices[t]}, scores differ by ${d}`);
        }
        // Projections (where the indices agree) within n·ε·‖G‖.
        const tol = len * U * normF(g);
        const same = Array.from(a.indices).every((k, t) => k === b.indices[t]);
        if (same) for (let i = 0; i < a.projected.length; i++) {
          assert(Math.abs(a.projected[i] - b.projected[i]) <= tol, `projected[${i}]: ${a.projected[i]} vs ${b.projected[i]} (tol ${tol})`);
        }
        outputs.push(a.projected, b.projected, a.indices, b.indices);
      }
      return outputs;
    },
  });
}

cases.push({
  name: 'dctSelect: a gradient in the span of r basis vectors is found and reproduced',
  run({ bw }) {
    const outputs = [];
    for (const [side, m, n, chosen] of [['right', 24, 16, [3, 11, 0]], ['left', 10, 30, [9, 2, 5, 7]]]) {
      const len = side === 'left' ? m : n;
      const coef = randomF32((side === 'left' ? n : m) * chosen.length, 5).map((v) => v + Math.sign(v));
      // right: G = P·D[chosen, :]; left: G = D[chosen, :]ᵀ·P.
      const d = bw.dctBasis(len);
      const rows = new Float32Array(chosen.length * len);
      chosen.forEach((k, t) => rows.set(d.subarray(k * len, (k + 1) * len), t * len));
      const g = side === 'right'
        ? bw.matmul(coef, rows, m, chosen.length, n)
        : bw.matmul(rows, coef, m, chosen.length, n, { transA: true });
      for (const method of ['matmul', 'fft']) {
        const p = bw.dctSelect(g, m, n, chosen.length, { side, method });
        assert([...p.indices].sort((x, y) => x - y).join() === [...chosen].sort((x, y) => x - y).join(),
          `${side}/${method}: selected ${Array.from(p.indices)}, expected ${chosen}`);
        const back = bw.dctBackProject(p);
        const tol = 8 * len * U * normF(g);
        for (let i = 0; i < g.length; i++) assert(Math.abs(back[i] - g[i]) <= tol, `${side}/${method}: back[${i}] = ${back[i]}, G = ${g[i]}`);
        outputs.push(p.projected, back);
      }
    }
    return outputs;
  },
});

cases.push({
  name: 'dctSelect: L1 and L2 scores rank differently; sides, r = 1 and r = all',
  run({ bw }) {
    // Right side, m = 5: S column 2 = (3,0,0,0,0) (L1 3, L2 3), column 6 = (1,1,1,1,1) (L1 5, L2 √5).
    const m = 5, n = 8;
    const g = fromRightScores(bw, m, n, { 2: [3, 0, 0, 0, 0], 6: [1, 1, 1, 1, 1] });
    const l1 = bw.dctSelect(g, m, n, 1, { side: 'right', norm: 'l1' });
    const l2 = bw.dctSelect(g, m, n, 1, { side: 'right', norm: 'l2' });
    assert(l1.indices[0] === 6 && l2.indices[0] === 2, `L1 picks ${l1.indices[0]} (want 6), L2 picks ${l2.indices[0]} (want 2)`);
    assert(Math.abs(l2.scores[2] - 3) < 1e-5 && Math.abs(l2.scores[6] - Math.sqrt(5)) < 1e-5, 'L2 scores are column norms');
    assert(Math.abs(l1.scores[6] - 5) < 1e-5, 'L1 scores are column sums of magnitudes');
    // Default sides: m ≥ n → right (m×r), m < n → left (r×n).
    const tall = bw.dctSelect(randomF32(12 * 6, 1), 12, 6, 2);
    const wide = bw.dctSelect(randomF32(6 * 12, 2), 6, 12, 2);
    assert(tall.side === 'right' && tall.projected.length === 12 * 2, 'tall → right, m×r');
    assert(wide.side === 'left' && wide.projected.length === 2 * 12, 'wide → left, r×n');
    // r = all: every index once, ties broken by index, and the projection is all of S (energy kept).
    const gAll = randomF32(9 * 7, 3);
    const all = bw.dctSelect(gAll, 9, 7, 7);
    assert([...all.indices].sort((x, y) => x - y).join() === '0,1,2,3,4,5,6', 'r = n selects every index');
    assert(Math.abs(normF(all.projected) - normF(gAll)) <= 1e-5 * normF(gAll), 'r = n keeps all the energy');
    const tie = bw.dctSelect(new Float32Array(4 * 4), 4, 4, 4);
    assert(Array.from(tie.indices).join() === '0,1,2,3', `all-equal scores: indices ascending (${Array.from(tie.indices)})`);
    return [l1.projected, l2.projected, all.projected];
  },
});

cases.push({
  name: 'svdProject: the optimum on a low-rank gradient, both sides, back-projection',
  run({ bw }) {
    const outputs = [];
    for (const [m, n] of [[40, 24], [18, 50]]) {
      const r = 3;
      const g = bw.matmul(randomF32(m * r, 8), randomF32(r * n, 9), m, r, n); // rank 3
      for (const exact of [false, true]) {
        const p = bw.svdProject(g, m, n, r, { exact });
        assert(p.side === (m >= n ? 'right' : 'left'), 'GaLore side rule');
        assert(p.projected.length === (p.side === 'right' ? m * r : r * n), 'projected shape as dctSelect');
        const kept = normF(p.projected) / normF(g);
        assert(Math.abs(kept - 1) < 1e-4, `a rank-r gradient keeps all its energy (${kept})`);
        const back = bw.dctBackProject(p);
        for (let i = 0; i < g.length; i++) assert(Math.abs(back[i] - g[i]) <= 1e-4 * normF(g), `back-projection at ${i}`);
        const dct = bw.dctSelect(g, m, n, r);
        assert(normF(dct.projected) <= normF(p.projected) * (1 + 1e-5), 'no r DCT vectors beat the top r singular vectors');
        outputs.push(p.projected);
      }
    }
    return outputs;
  },
});

cases.push({
  name: 'dctSelect typed errors',
  async run({ bw }) {
    const g = randomF32(6 * 4, 1);
    await expectError(() => bw.dctSelect(g, 6, 4, 0), 'ARG');
    await expectError(() => bw.dctSelect(g, 6, 4, 5), 'ARG'); // right side: r ≤ n
    await expectError(() => bw.dctSelect(g, 6, 4, 7, { side: 'left' }), 'ARG'); // left: r ≤ m
    await expectError(() => bw.dctSelect(g, 6, 5, 2), 'SHAPE');
    await expectError(() => bw.dctSelect(g, 6, 4, 2, { norm: 'l3' }), 'ARG');
    await expectError(() => bw.dctSelect(g, 6, 4, 2, { side: 'up' }), 'ARG');
    await expectError(() => bw.dctSelect(g, 6, 4, 2, { method: 'dft' }), 'ARG');
    const nan = g.slice(); nan[7] = NaN;
    await expectError(() => bw.dctSelect(nan, 6, 4, 2), 'NON_FINITE');
    await expectError(() => bw.dctBasis(0), 'EMPTY');
    await expectError(() => bw.dctBackProject({ side: 'right' }), 'ARG');
    await expectError(() => bw.dctBackProject({ side: 'right', rows: 6, cols: 4, indices: Int32Array.of(9), projected: new Float32Array(6) }), 'ARG');
    await expectError(() => bw.svdProject(g, 6, 4, 5), 'ARG');
  },
});

cases.push({
  name: 'dct: the basis cache stays within 64 MB (LRU), clearCaches frees it, dispose ends the instance',
  async run({ init }) {
    const bw = await init();
    const limit = 64 * 2 ** 20;
    const first = [];
    for (let i = 0; i < 20; i++) {
      const n = 1000 + 8 * i; // 4.0–4.6 MB each: 20 of them would hold 86 MB
      const p = bw.dctSelect(randomF32(4 * n, i), 4, n, 3, { side: 'right', method: 'matmul' });
      if (i === 0) first.push(...p.indices);
      assert(bw.residentBytes > 0 && bw.residentBytes <= limit, `after ${i + 1} sizes: ${bw.residentBytes} resident bytes`);
    }
    // The first size was evicted; computing it again gives the same selection.
    const again = bw.dctSelect(randomF32(4 * 1000, 0), 4, 1000, 3, { side: 'right', method: 'matmul' });
    assert(Array.from(again.indices).join() === first.join(), 'the same selection after eviction');
    bw.clearCaches();
    assert(bw.residentBytes === 0, `clearCaches leaves ${bw.residentBytes} bytes`);
    const sm = bw.decompose(randomF32(64, 9), 8, 8, { blocks: 1 });
    bw.dispose();
    await expectError(() => bw.matmul(new Float32Array(4), new Float32Array(4), 2, 2, 2), 'ARG');
    await expectError(() => sm.matvec(new Float32Array(8)), 'ARG');
    await expectError(() => bw.dctBasis(8), 'ARG');
    return [again.projected];
  },
});
