// BitStack: sign packing and float16 against JS references, decomposition against
// a plain-JS implementation of the algorithm, the fused products against
// reconstruct-then-multiply, and typed errors.
import { randomF32, rng, assert, expectError, pow2, lowRankPlusNoise } from './util.mjs';

export const cases = [];


/** JS reference of the packing: row-major, MSB first, set bit = +1, sign(0) = +1. */
function packSignsJs(x) {
  const out = new Uint8Array(Math.ceil(x.length / 8));
  for (let i = 0; i < x.length; i++) if (x[i] >= 0) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

/** JS reference f32 → f16 bits, round to nearest even (through exact arithmetic on doubles). */
function toHalfJs(v) {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal: multiples of 2^-24, ties to even.
    const q = a / 2 ** -24, f = Math.floor(q), rem = q - f;
    return sign | (rem > 0.5 || (rem === 0.5 && f % 2 === 1) ? f + 1 : f);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = a / 2 ** (e - 10), f = Math.floor(q), rem = q - f; // f in [1024, 2048)
  let mant = rem > 0.5 || (rem === 0.5 && f % 2 === 1) ? f + 1 : f;
  if (mant === 2048) { mant = 1024; e++; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (mant - 1024);
}

cases.push({
  name: 'bitstack: sign packing is bit-exact (zeros, -0, odd lengths)',
  run({ bw }) {
    const outputs = [];
    for (const len of [1, 7, 8, 9, 64, 1003]) {
      const x = randomF32(len, len);
      if (len > 3) { x[1] = 0; x[2] = -0; x[3] = -1e-30; }
      const got = bw.packSigns(x), want = packSignsJs(x);
      assert(got.length === want.length && got.every((v, i) => v === want[i]), `packSigns(${len}) differs`);
      outputs.push(got);
    }
    return outputs;
  },
});

cases.push({
  name: 'bitstack: float16 and bfloat16 conversion, round to nearest even, every value round-trips',
  run({ bw }) {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = bw.fromFloat16(all);
    const back = bw.toFloat16(f);
    for (let i = 0; i < 65536; i++) {
      const exp = (i >> 10) & 31;
      if (exp === 31 && (i & 1023)) { assert(Number.isNaN(f[i]), `NaN ${i}`); continue; }
      assert(back[i] === i, `half ${i} → ${f[i]} → ${back[i]}`);
    }
    const r = rng(5);
    const x = Float32Array.from({ length: 20000 }, (_, i) => (r() - 0.5) * pow2(Math.floor(i / 500) - 26));
    x.set([65504, 65519, 65520, 1e10, -pow2(-25), pow2(-25) * 1.5, pow2(-24) * 2.5, 1 + pow2(-11), 1 + 3 * pow2(-11)], 0);
    const h = bw.toFloat16(x);
    for (let i = 0; i < x.length; i++) assert(h[i] === toHalfJs(x[i]), `toFloat16(${x[i]}) = ${h[i]}, reference ${toHalfJs(x[i])}`);
    // bfloat16: the high half of the f32, rounded to nearest even; every bfloat16 round-trips.
    const bfAll = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const bf = bw.fromBfloat16(bfAll), bfBack = bw.toBfloat16(bf);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(bf[i])) { assert(Number.isNaN(bw.fromBfloat16(Uint16Array.of(bfBack[i]))[0]), `bf16 NaN ${i}`); continue; }
      assert(bfBack[i] === i, `bfloat16 ${i} → ${bf[i]} → ${bfBack[i]}`);
    }
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const bh = bw.toBfloat16(x);
    for (let i = 0; i < x.length; i++) {
      const up = bits[i] & 0xffff, hi = bits[i] >>> 16;
      const want = up > 0x8000 || (up === 0x8000 && (hi & 1)) ? (hi + 1) & 0xffff : hi;
      assert(bh[i] === want, `toBfloat16(${x[i]}) = ${bh[i]}, want ${want}`);
    }
    return [h, f, bh];
  },
});

/** Plain-JS BitStack with the library's exact SVD (f64) for the magnitudes: errors after each block. */
function referenceErrors(bw, w, m, n, k, blocks) {
  const r = Float64Array.from(w);
  let total = 0;
  for (const v of r) total += v * v;
  const errors = [];
  for (let q = 0; q < blocks; q++) {
    const signs = r.map((v) => (v >= 0 ? 1 : -1));
    const { U, S, Vt } = bw.svd(r.map(Math.abs), m, n);
    const p = Math.min(m, n);
    // f16-rounded factors, as the library subtracts them by default.
    const a = new Float32Array(m * k), b = new Float32Array(k * n);
    for (let c = 0; c < k; c++) {
      const root = Math.sqrt(S[c]);
      for (let i = 0; i < m; i++) a[i * k + c] = U[i * p + c] * root;
      for (let j = 0; j < n; j++) b[c * n + j] = Vt[c * n + j] * root;
    }
    const ar = bw.fromFloat16(bw.toFloat16(a)), br = bw.fromFloat16(bw.toFloat16(b));
    let e = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += ar[i * k + c] * br[c * n + j];
      r[i * n + j] -= signs[i * n + j] * s;
      e += r[i * n + j] ** 2;
    }
    errors.push(Math.sqrt(e / total));
  }
  return errors;
}

cases.push({
  name: 'bitstack: decomposition follows the algorithm; error decreases; fused products match',
  run({ bw }) {
    const m = 40, n = 48, k = 4, blocks = 6;
    // A matrix with a decaying spectrum plus noise, like trained weights.
    const w = lowRankPlusNoise(bw, m, n, 8, 0.05, [9, 1, 2]);
    const ref = referenceErrors(bw, w, m, n, k, blocks);
    const seen = [];
    const sm = bw.decompose(w, m, n, { rank: k, factors: 'f16', blocks, svd: 'exact', name: 'layer.0', onProgress: (p) => seen.push(`${p.matrix}:${p.block}`) });
    assert(sm.rows === m && sm.cols === n && sm.rank === k && sm.blockCount === blocks, 'shape fields');
    assert(seen.join() === 'layer.0:1,layer.0:2,layer.0:3,layer.0:4,layer.0:5,layer.0:6', `progress after every block (${seen})`);
    for (let b = 0; b < blocks; b++) {
      assert(Math.abs(sm.relativeErrors[b] - ref[b]) <= 1e-3 + 0.01 * ref[b], `block ${b + 1}: error ${sm.relativeErrors[b]}, reference ${ref[b]}`);
      if (b > 0) assert(sm.relativeErrors[b] < sm.relativeErrors[b - 1], 'error decreases block by block');
    }
    assert(sm.byteLength(2) === 2 * (Math.ceil(m * n / 8) + 2 * k * (m + n)), 'byteLength');
    // The randomized SVDs: by default (block Krylov, 5 blocks of 8 columns) the basis covers all
    // of min(m, n) = 40, i.e. the exact SVD up to rounding; a narrow basis (2 blocks of 8) and
    // subspace iteration stay close and decrease too.
    const variants = {
      'krylov (default)': [bw.decompose(w, m, n, { rank: k, factors: 'f16', blocks }), 1e-3 + 0.01],
      'krylov, 2 blocks of 8': [bw.decompose(w, m, n, { rank: k, factors: 'f16', blocks, powerIters: 1, oversample: 0 }), 0.1],
      subspace: [bw.decompose(w, m, n, { rank: k, factors: 'f16', blocks, rangeFinder: 'subspace', powerIters: 2, oversample: 4 }), 0.1],
    };
    for (const [label, [v, tol]] of Object.entries(variants)) {
      for (let b = 0; b < blocks; b++) {
        const e = v.relativeErrors[b];
        assert(e >= ref[b] * (1 - 0.01) - 1e-3 && e <= ref[b] * (1 + tol), `${label}, block ${b + 1}: error ${e}, exact ${ref[b]}`);
        if (b > 0) assert(e < v.relativeErrors[b - 1], `${label}: error decreases block by block`);
      }
      v.free();
    }
    const x = randomF32(n, 3), X = randomF32(n * 3, 4), X9 = randomF32(n * 9, 5);
    const outputs = [];
    for (let b = 1; b <= blocks; b++) {
      const wb = sm.reconstruct(b);
      // The reconstruction's error is the one decompose reported (same factors, same signs).
      let e = 0, t = 0;
      for (let i = 0; i < m * n; i++) { e += (w[i] - wb[i]) ** 2; t += w[i] ** 2; }
      assert(Math.abs(Math.sqrt(e / t) - sm.relativeErrors[b - 1]) <= 1e-4, `reconstruct(${b}) error`);
      const y = sm.matvec(x, b), dense = bw.matmul(wb, x, m, n, 1);
      const Y = sm.matmul(X, 3, b), denseY = bw.matmul(wb, X, m, n, 3);
      let scale = 0;
      for (const v of wb) scale = Math.max(scale, Math.abs(v));
      const tol = 64 * n * 2 ** -24 * scale * b;
      for (let i = 0; i < m; i++) assert(Math.abs(y[i] - dense[i]) <= tol, `matvec(b=${b})[${i}]: ${y[i]} vs ${dense[i]}`);
      for (let i = 0; i < m * 3; i++) assert(Math.abs(Y[i] - denseY[i]) <= tol, `matmul(b=${b})[${i}]`);
      // From 8 columns on, the tile path (rebuild 32 rows, GEMM).
      const Y9 = sm.matmul(X9, 9, b), denseY9 = bw.matmul(wb, X9, m, n, 9);
      for (let i = 0; i < m * 9; i++) assert(Math.abs(Y9[i] - denseY9[i]) <= tol, `tiled matmul(b=${b})[${i}]: ${Y9[i]} vs ${denseY9[i]}`);
      outputs.push(wb, y, Y9);
    }
    sm.free();
    return outputs;
  },
});

cases.push({
  name: 'bitstack: activation scale, rows not a multiple of 8 bits, typed errors',
  async run({ bw }) {
    const m = 9, n = 13, k = 3;
    const w = randomF32(m * n, 7);
    const scale = Float32Array.from({ length: n }, (_, j) => 0.5 + (j % 4));
    const sm = bw.decompose(w, m, n, { rank: k, blocks: 4, scale });
    const wb = sm.reconstruct();
    const x = randomF32(n, 8);
    const y = sm.matvec(x), dense = bw.matmul(wb, x, m, n, 1);
    for (let i = 0; i < m; i++) assert(Math.abs(y[i] - dense[i]) <= 1e-4, `scaled matvec[${i}]: ${y[i]} vs ${dense[i]}`);
    const X = randomF32(n * 10, 9), Y = sm.matmul(X, 10), denseY = bw.matmul(wb, X, m, n, 10);
    for (let i = 0; i < m * 10; i++) assert(Math.abs(Y[i] - denseY[i]) <= 1e-4, `scaled tiled matmul[${i}]: ${Y[i]} vs ${denseY[i]}`);
    let e = 0, t = 0;
    for (let i = 0; i < m * n; i++) { e += (w[i] - wb[i]) ** 2; t += w[i] ** 2; }
    assert(Math.sqrt(e / t) < 0.9, 'four blocks approximate the weight');
    await expectError(() => sm.matvec(new Float32Array(n + 1)), 'SHAPE');
    await expectError(() => sm.reconstruct(5), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { rank: 10 }), 'ARG'); // above min(m, n) = 9
    await expectError(() => bw.decompose(w, m, n, { rank: 0 }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { rank: 'most' }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { ranks: [] }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { ranks: [1, 33] }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { factors: 'int4' }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { blocks: 0 }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { scale: new Float32Array(n) }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { svd: 'lanczos' }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { rangeFinder: 'lanczos' }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { name: 3 }), 'ARG');
    const nan = w.slice(); nan[4] = NaN;
    await expectError(() => bw.decompose(nan, m, n), 'NON_FINITE');
    sm.free();
    await expectError(() => sm.matvec(x), 'ARG');
    return [wb, y];
  },
});

cases.push({
  name: 'bitstack: decomposeAsync yields between blocks, equals decompose, aborts and frees',
  async run({ bw }) {
    const m = 24, n = 40, k = 4, blocks = 4;
    const w = randomF32(m * n, 21);
    const sync = bw.decompose(w, m, n, { rank: k, blocks });
    // A timer set during block 1's progress report runs before block 2: the event loop got a turn.
    const events = [];
    const sm = await bw.decomposeAsync(w, m, n, {
      rank: k, blocks,
      onProgress: (p) => {
        events.push(`block ${p.block}`);
        if (p.block === 1) setTimeout(() => events.push('timer'), 0);
      },
    });
    assert(events.join() === 'block 1,timer,block 2,block 3,block 4', `event order: ${events}`);
    for (let b = 0; b < blocks; b++) assert(sm.relativeErrors[b] === sync.relativeErrors[b], `same error after ${b + 1} blocks`);
    const wa = sm.reconstruct(), ws = sync.reconstruct();
    for (let i = 0; i < m * n; i++) assert(wa[i] === ws[i], 'same reconstruction bits');
    sm.free();
    sync.free();
    // Abort after block 2: ABORTED, with the signal's reason as cause, and every block freed.
    const before = bw.residentBytes;
    const controller = new AbortController();
    let seen = 0;
    const err = await expectError(() => bw.decomposeAsync(w, m, n, {
      rank: k, blocks, signal: controller.signal,
      onProgress: (p) => { seen = p.block; if (p.block === 2) controller.abort('enough'); },
    }), 'ABORTED');
    assert(seen === 2, `stopped after block ${seen}`);
    assert(err.cause === 'enough', `cause: ${err.cause}`);
    assert(bw.residentBytes === before, `resident bytes back to ${before}, got ${bw.residentBytes}`);
    // Already aborted: rejects before any work; a non-signal is an ARG error.
    await expectError(() => bw.decomposeAsync(w, m, n, { signal: AbortSignal.abort() }), 'ABORTED');
    await expectError(() => bw.decomposeAsync(w, m, n, { signal: {} }), 'ARG');
    await expectError(() => bw.decomposeAsync(w, m, 0), 'EMPTY');
    return [wa];
  },
});

/** Decodes a block's stored factors in JS (f64): A (m×k), B (k×n). */
function decodeFactors(bw, d, m, n) {
  const k = d.a.length / m;
  if (d.aScale) {
    const as = bw.fromFloat16(d.aScale), bs = bw.fromFloat16(d.bScale);
    return { k, A: Float64Array.from(d.a, (q, i) => q * as[i % k]), B: Float64Array.from(d.b, (q, i) => q * bs[Math.floor(i / n)]) };
  }
  return { k, A: Float64Array.from(bw.fromFloat16(d.a)), B: Float64Array.from(bw.fromFloat16(d.b)) };
}

/** W_b from the stored blocks, in JS (f64): Σ S ⊙ (A·B). */
function reconstructJs(bw, sm, b) {
  const m = sm.rows, n = sm.cols, w = new Float64Array(m * n);
  for (let q = 0; q < b; q++) {
    const d = sm.blockData(q), { k, A, B } = decodeFactors(bw, d, m, n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += A[i * k + c] * B[c * n + j];
      const bit = (d.signs[(i * n + j) >> 3] >> (7 - ((i * n + j) & 7))) & 1;
      w[i * n + j] += bit ? s : -s;
    }
  }
  return w;
}

cases.push({
  name: 'bitstack: int8 factors at every rank 1…32 — stored values, reconstruct, matvec and matmul agree',
  run({ bw }) {
    const m = 70, n = 45;
    const w = lowRankPlusNoise(bw, m, n, 40, 0.2, [31, 32, 33]);
    const x = randomF32(n, 34), X3 = randomF32(n * 3, 35), X9 = randomF32(n * 9, 36);
    const outputs = [];
    for (let k = 1; k <= 32; k++) {
      const sm = bw.decompose(w, m, n, { rank: k, blocks: 2 });
      assert(sm.factors === 'int8' && sm.ranks.join() === `${k},${k}`, `rank ${k}: factors ${sm.factors}, ranks ${sm.ranks}`);
      assert(sm.byteLength() === 2 * (Math.ceil(m * n / 8) + k * (m + n) + 4 * k), `rank ${k}: byteLength ${sm.byteLength()}`);
      const d = sm.blockData(0);
      assert(d.a instanceof Int8Array && d.b instanceof Int8Array && d.aScale.length === k && d.bScale.length === k, 'int8 parts');
      // Symmetric int8: |q| ≤ 127, and every column of A / row of B reaches 127 (its scale is max|v|/127, rounded to f16).
      assert(!d.a.includes(-128) && !d.b.includes(-128), 'no -128');
      for (let c = 0; c < k; c++) {
        let amax = 0, bmax = 0;
        for (let i = 0; i < m; i++) amax = Math.max(amax, Math.abs(d.a[i * k + c]));
        for (let j = 0; j < n; j++) bmax = Math.max(bmax, Math.abs(d.b[c * n + j]));
        assert(amax >= 126 && bmax >= 126, `rank ${k}, column ${c}: largest |q| ${amax}, ${bmax}`);
      }
      for (let b = 1; b <= 2; b++) {
        const wb = sm.reconstruct(b), ref = reconstructJs(bw, sm, b);
        let scale = 0, e = 0, t = 0;
        for (let i = 0; i < m * n; i++) scale = Math.max(scale, Math.abs(ref[i]));
        const tol = 8 * k * 2 ** -24 * scale * b;
        for (let i = 0; i < m * n; i++) assert(Math.abs(wb[i] - ref[i]) <= tol, `rank ${k}: reconstruct(${b})[${i}] = ${wb[i]}, JS ${ref[i]}`);
        // The residual subtracted the stored factors: the reported error is the reconstruction's.
        for (let i = 0; i < m * n; i++) { e += (w[i] - wb[i]) ** 2; t += w[i] ** 2; }
        assert(Math.abs(Math.sqrt(e / t) - sm.relativeErrors[b - 1]) <= 1e-4, `rank ${k}: error after ${b} blocks`);
        const ptol = 64 * n * 2 ** -24 * scale * b;
        const y = sm.matvec(x, b), dy = bw.matmul(wb, x, m, n, 1);
        for (let i = 0; i < m; i++) assert(Math.abs(y[i] - dy[i]) <= ptol, `rank ${k}: matvec(b=${b})[${i}]: ${y[i]} vs ${dy[i]}`);
        for (const [X, batch] of [[X3, 3], [X9, 9]]) {
          const Y = sm.matmul(X, batch, b), dY = bw.matmul(wb, X, m, n, batch);
          for (let i = 0; i < m * batch; i++) assert(Math.abs(Y[i] - dY[i]) <= ptol, `rank ${k}: matmul(batch ${batch}, b=${b})[${i}]`);
        }
        outputs.push(wb, y);
      }
      // int8 costs little accuracy against f16 factors of the same rank (the quantization error is
      // ~1/(127·√3) of each factor's largest value, far below the block's own error).
      if (k % 5 !== 1) { sm.free(); continue; }
      const f16 = bw.decompose(w, m, n, { rank: k, blocks: 2, factors: 'f16' });
      assert(sm.relativeErrors[1] <= f16.relativeErrors[1] * 1.03 + 1e-4, `rank ${k}: int8 error ${sm.relativeErrors[1]} vs f16 ${f16.relativeErrors[1]}`);
      f16.free();
      sm.free();
    }
    return outputs;
  },
});

cases.push({
  name: 'bitstack: rank auto picks the candidate with the largest error reduction per byte',
  run({ bw }) {
    const m = 48, n = 40;
    // A fast-decaying spectrum: small ranks pay most per byte early.
    const w = lowRankPlusNoise(bw, m, n, 3, 0.3, [41, 42, 43]);
    const sm = bw.decompose(w, m, n, { blocks: 5, svd: 'exact' });
    const cands = [1, 2, 4, 8, 16, 32];
    assert(sm.ranks.every((r) => cands.includes(r)), `ranks ${sm.ranks}`);
    // Block 0 from the exact singular values of |W|: Σ_{c<r} σ_c² / bytes(r), bytes with int8 factors.
    const { S } = bw.svd(w.map(Math.abs), m, n);
    const bytes = (r) => Math.ceil(m * n / 8) + r * (m + n) + 4 * r;
    let best = 0, bestGain = -1;
    for (const r of cands.filter((r) => r <= Math.min(m, n))) {
      let s2 = 0;
      for (let c = 0; c < r; c++) s2 += S[c] * S[c];
      if (s2 / bytes(r) > bestGain) { bestGain = s2 / bytes(r); best = r; }
    }
    assert(sm.ranks[0] === best, `block 0: rank ${sm.ranks[0]}, expected ${best}`);
    let total = 0;
    for (let b = 0; b < 5; b++) total += bytes(sm.ranks[b]);
    assert(sm.byteLength() === total && sm.rank === Math.max(...sm.ranks), 'bytes and rank of mixed-rank blocks');
    // Products over mixed ranks.
    const wb = sm.reconstruct(), ref = reconstructJs(bw, sm, 5);
    for (let i = 0; i < m * n; i++) assert(Math.abs(wb[i] - ref[i]) <= 1e-4, `mixed ranks: reconstruct[${i}]`);
    const x = randomF32(n, 44), y = sm.matvec(x), dy = bw.matmul(wb, x, m, n, 1);
    for (let i = 0; i < m; i++) assert(Math.abs(y[i] - dy[i]) <= 1e-4, `mixed ranks: matvec[${i}]`);
    // Restricted candidates, and f16 factors with rank auto.
    const only = bw.decompose(w, m, n, { blocks: 3, ranks: [2, 8], factors: 'f16' });
    assert(only.ranks.every((r) => r === 2 || r === 8) && only.factors === 'f16', `ranks [2, 8]: ${only.ranks}`);
    // Candidates above min(m, n) are dropped: an 8×8 matrix with the defaults stays finite.
    const tiny = bw.decompose(randomF32(64, 45), 8, 8, { blocks: 3 });
    assert(tiny.ranks.every((r) => r <= 8) && tiny.relativeErrors.every(Number.isFinite), `8×8: ranks ${tiny.ranks}, errors ${tiny.relativeErrors}`);
    for (const [tm, tn] of [[3, 5], [2, 40], [15, 100], [1, 9]]) {
      const s = bw.decompose(randomF32(tm * tn, tm + tn), tm, tn, { blocks: 2 });
      const x = randomF32(tn, 46), y = s.matvec(x);
      assert(s.ranks.every((r) => r <= Math.min(tm, tn)) && s.relativeErrors.every(Number.isFinite) && y.every(Number.isFinite), `${tm}×${tn}: ranks ${s.ranks}`);
      s.free();
    }
    const outputs = [wb, y, Int32Array.from(sm.ranks), Int32Array.from(only.ranks), tiny.reconstruct()];
    for (const s of [sm, only, tiny]) s.free();
    return outputs;
  },
});

cases.push({
  name: 'bitstack: weights beyond float16 factors are NON_FINITE errors, never Inf/NaN; scales that undo as Infinity are ARG',
  async run({ bw }) {
    const m = 24, n = 20, w = randomF32(m * n, 61);
    const before = bw.residentBytes;
    for (const [big, factors] of [[1e11, 'f16'], [1e15, 'int8'], [1e-30, 'int8'], [1e-30, 'f16']]) {
      const e = await expectError(() => bw.decompose(w.map((v) => v * big), m, n, { factors, blocks: 2 }), 'NON_FINITE');
      assert(/scale the input/.test(e.message), e.message);
    }
    assert(bw.residentBytes === before, 'a failed decompose frees its blocks');
    await expectError(() => bw.decompose(w, m, n, { scale: new Float32Array(n).fill(1e-40) }), 'ARG');
    await expectError(() => bw.decompose(w, m, n, { scale: new Float32Array(n).fill(1e39 / 1e1) }), 'ARG');
    // In range, scaled inputs decompose finitely (1e4 and 1e-4 are far inside f16 factors' reach).
    for (const s of [1e4, 1e-4]) {
      const sm = bw.decompose(w.map((v) => v * s), m, n, { blocks: 2 });
      assert(sm.relativeErrors.every(Number.isFinite) && sm.reconstruct().every(Number.isFinite), `scale ${s}`);
      sm.free();
    }
  },
});
