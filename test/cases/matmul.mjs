// matmul cases: every shape class and transpose against a float64 reference
// with the componentwise error bound; outputs, memory and errors.
import { randomF32, assert, expectError, checkMatmul } from './util.mjs';

export const cases = [];

const SHAPES = [
  [1, 1, 1], [1, 1, 9], [1, 7, 1], [9, 1, 1], [2, 3, 4], [3, 5, 7], [4, 8, 8], [5, 9, 17],
  [13, 17, 19], [31, 64, 33], [64, 64, 64], [1, 100, 37], [37, 100, 1], [67, 300, 71],
  [130, 40, 9], [7, 513, 5], [2, 3, 4100],
  // matrix-vector products (their own kernels): 4-row groups, 8/4/1-column tails, 2048-column chunks
  [1, 45, 2051], [2051, 45, 1], [1, 13, 6], [6, 13, 1], [1, 300, 33], [33, 300, 1],
];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]];

for (const [m, k, n] of SHAPES) {
  for (const [transA, transB] of TRANSPOSES) {
    const name = `matmul ${m}x${k}x${n} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
    cases.push({
      name,
      run({ bw }) {
        const a = randomF32(m * k, m * 1000 + k);
        const b = randomF32(k * n, n * 1000 + k + 7);
        const c = bw.matmul(a, b, m, k, n, { transA, transB });
        checkMatmul(c, a, b, m, k, n, transA, transB, name);
        return [c];
      },
    });
  }
}

cases.push({
  name: 'matmul out: reused, and may alias an input',
  run({ bw }) {
    const n = 24;
    const a = randomF32(n * n, 1), b = randomF32(n * n, 2);
    const fresh = bw.matmul(a, b, n, n, n);
    const out = new Float32Array(n * n).fill(123);
    const same = bw.matmul(a, b, n, n, n, { out });
    assert(same === out, 'matmul must return opts.out');
    for (let i = 0; i < n * n; i++) assert(out[i] === fresh[i], `out[${i}] differs from a fresh result`);
    const a2 = a.slice();
    bw.matmul(a2, b, n, n, n, { out: a2 });
    for (let i = 0; i < n * n; i++) assert(a2[i] === fresh[i], `aliased out[${i}] differs`);
    return [out];
  },
});

cases.push({
  name: 'matmul results survive memory growth',
  run({ bw }) {
    const small = bw.matmul(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), 2, 2, 2);
    const before = bw.memoryBytes;
    const m = 700, k = 300, n = 700;
    const big = bw.matmul(randomF32(m * k, 3), randomF32(k * n, 4), m, k, n);
    assert(bw.memoryBytes > before || before >= 4 * (m * k + k * n + m * n), 'the large product should have grown memory');
    assert(small.length === 4 && small[0] === 19 && small[1] === 22 && small[2] === 43 && small[3] === 50,
      `an earlier result changed or was detached: ${Array.from(small)}`);
    assert(big.length === m * n, 'large result has the wrong length');
    return [small, big];
  },
});

cases.push({
  name: 'matmul propagates NaN and Infinity as IEEE arithmetic does',
  run({ bw }) {
    const a = new Float32Array([NaN, 0, 1, 2]); // row 0 holds NaN
    const b = new Float32Array([1, 2, 3, 4]);
    const c = bw.matmul(a, b, 2, 2, 2);
    assert(Number.isNaN(c[0]) && Number.isNaN(c[1]), 'row 0 must be NaN');
    assert(c[2] === 7 && c[3] === 10, `row 1 must be finite: ${c[2]}, ${c[3]}`);
    const inf = bw.matmul(new Float32Array([Infinity]), new Float32Array([2]), 1, 1, 1);
    assert(inf[0] === Infinity, 'Infinity·2 must be Infinity');
  },
});

cases.push({
  name: 'matmul typed errors',
  async run({ bw }) {
    const a = new Float32Array(6), b = new Float32Array(12);
    await expectError(() => bw.matmul(a, b, 2, 3, 5), 'SHAPE');
    await expectError(() => bw.matmul(new Float32Array(5), b, 2, 3, 4), 'SHAPE');
    await expectError(() => bw.matmul(a, b, 2, 3, 4, { out: new Float32Array(7) }), 'SHAPE');
    await expectError(() => bw.matmul(a, b, 0, 3, 4), 'EMPTY');
    await expectError(() => bw.matmul(a, b, 2, 0, 4), 'EMPTY');
    await expectError(() => bw.matmul(a, b, 2, 3, 1.5), 'ARG');
    await expectError(() => bw.matmul(a, b, -2, 3, 4), 'ARG');
    await expectError(() => bw.matmul(a, b, 2, 3, NaN), 'ARG');
    await expectError(() => bw.matmul([0, 0, 0, 0, 0, 0], b, 2, 3, 4), 'ARG');
    await expectError(() => bw.matmul(new Float64Array(6), b, 2, 3, 4), 'ARG');
    await expectError(() => bw.matmul(a, b, 40000, 40000, 40000), 'TOO_LARGE');
    await expectError(() => bw.matmul(a, b, 2 ** 31, 1, 1), 'TOO_LARGE');
    // A failed call leaves the instance usable.
    const c = bw.matmul(new Float32Array([2]), new Float32Array([3]), 1, 1, 1);
    assert(c[0] === 6, 'instance unusable after an error');
  },
});

cases.push({
  name: 'init typed errors and features',
  async run({ bw, init }) {
    assert(bw.features.simd === true, 'features.simd must be true');
    await expectError(() => init({ relaxed: 'maybe' }), 'ARG');
    // A module URL that answers 404 (a bundler left the .wasm out): the error says what to do.
    if (typeof Response !== 'undefined') {
      const e = await expectError(() => init({ wasm: new Response('not here', { status: 404 }) }), 'WASM');
      assert(/HTTP 404/.test(e.message) && /init\(\{ wasm/.test(e.message), e.message);
    }
    // workerd (and pages under a strict CSP) forbid compiling bytes at run time: UNSUPPORTED there.
    const emptyModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    let compiles = true;
    try { new WebAssembly.Module(emptyModule); } catch { compiles = false; }
    // A valid module without the kernels' exports; bytes that are no module at all.
    await expectError(() => init({ wasm: emptyModule }), compiles ? 'WASM' : 'UNSUPPORTED');
    await expectError(() => init({ wasm: new Uint8Array([1, 2, 3, 4]) }), compiles ? 'WASM' : 'UNSUPPORTED');
    if (compiles) {
      await expectError(() => init({ wasm: new WebAssembly.Module(emptyModule) }), 'WASM');
    }
    await expectError(() => init({ wasm: 42 }), 'ARG');
  },
});

cases.push({
  name: 'resident matrices: same products, checked, freed memory reused',
  async run({ bw, init }) {
    const m = 19, k = 70, n = 23;
    const a = randomF32(m * k, 11), b = randomF32(k * n, 12);
    const expected = bw.matmul(a, b, m, k, n);
    const base = bw.residentBytes;
    const ra = bw.matrix(a, m, k), rb = bw.matrix(b, k, n);
    assert(bw.residentBytes >= base + 4 * (m * k + k * n), 'residentBytes must count both matrices');
    const mixed = [bw.matmul(ra, rb, m, k, n), bw.matmul(a, rb, m, k, n), bw.matmul(ra, b, m, k, n)];
    for (const c of mixed) for (let i = 0; i < m * n; i++) assert(c[i] === expected[i], `resident product differs at ${i}`);
    // Scratch growth by a later call must not disturb resident data.
    bw.matmul(randomF32(400 * 400, 13), randomF32(400 * 400, 14), 400, 400, 400);
    const again = ra.toArray();
    for (let i = 0; i < a.length; i++) assert(again[i] === a[i], `resident data changed at ${i}`);
    await expectError(() => bw.matmul(ra, rb, k, m, n), 'SHAPE');
    const other = await init();
    await expectError(() => other.matmul(ra, rb, m, k, n), 'ARG');
    await expectError(() => bw.matrix(a, m, k + 1), 'SHAPE');
    await expectError(() => bw.matrix(a, 0, k), 'EMPTY');
    ra.free();
    ra.free(); // idempotent
    assert(ra.freed, 'freed flag');
    await expectError(() => bw.matmul(ra, rb, m, k, n), 'ARG');
    await expectError(() => ra.toArray(), 'ARG');
    // A hole is reused by an allocation that fits, and freeing everything returns all memory.
    const held = bw.residentBytes;
    const rc = bw.matrix(randomF32(m * k, 15), m, k);
    assert(bw.residentBytes === held, 'a matrix of the freed size must reuse the hole');
    rc.free();
    rb.free();
    assert(bw.residentBytes === base, `all resident memory returned: ${bw.residentBytes} != ${base}`);
    return mixed;
  },
});

cases.push({
  name: 'resident output: C stays in wasm memory',
  async run({ bw }) {
    const m = 9, k = 31, n = 14;
    const a = randomF32(m * k, 21), b = randomF32(k * n, 22);
    const expected = bw.matmul(a, b, m, k, n);
    const ra = bw.matrix(a, m, k);
    const rc = bw.matrix(new Float32Array(m * n), m, n);
    const returned = bw.matmul(ra, b, m, k, n, { out: rc });
    assert(returned === rc, 'matmul must return the resident out');
    const got = rc.toArray();
    for (let i = 0; i < m * n; i++) assert(got[i] === expected[i], `resident out differs at ${i}`);
    const square = bw.matrix(randomF32(25, 23), 5, 5);
    await expectError(() => bw.matmul(square, square, 5, 5, 5, { out: square }), 'ARG');
    await expectError(() => bw.matmul(ra, b, m, k, n, { out: square }), 'SHAPE');
    for (const r of [ra, rc, square]) r.free();
    return [got];
  },
});

cases.push({
  name: 'resident B: packed once, same bits, repacked when shape or data change',
  async run({ bw }) {
    // k spans three KC blocks and n two NC blocks, so the packed layout's block offsets are used.
    const m = 5, k = 1100, n = 4100;
    const a = randomF32(m * k, 31), b = randomF32(k * n, 32);
    const expected = bw.matmul(a, b, m, k, n);
    const base = bw.residentBytes;
    const rb = bw.matrix(b, k, n);
    const first = bw.matmul(a, rb, m, k, n);
    const packedBytes = bw.residentBytes - base - 4 * k * n;
    assert(packedBytes >= 4 * k * n, `a packed copy should be held (${packedBytes} bytes)`);
    const second = bw.matmul(a, rb, m, k, n);
    for (let i = 0; i < m * n; i++) {
      assert(first[i] === expected[i] && second[i] === expected[i], `prepacked product differs at ${i}`);
    }
    // The same storage read as op(B) = Bᵀ (n×k stored): repacked for the new use.
    const x = randomF32(3 * n, 33);
    const t = bw.matmul(x, rb, 3, n, k, { transB: true });
    checkMatmul(t, x, b, 3, n, k, false, true, 'prepacked transB');
    // Unpacked matrices give the same bits.
    const plain = bw.matrix(b, k, n, { prepack: false });
    const fromPlain = bw.matmul(a, plain, m, k, n);
    for (let i = 0; i < m * n; i++) assert(fromPlain[i] === expected[i], `prepack: false differs at ${i}`);
    plain.free();
    // Written as an output, a matrix drops its packed copy.
    const sq = 16;
    const w = bw.matrix(randomF32(sq * sq, 34), sq, sq);
    const y = randomF32(sq * sq, 35);
    bw.matmul(y, w, sq, sq, sq); // packs w
    bw.matmul(y, y, sq, sq, sq, { out: w }); // w = y·y
    const fresh = bw.matmul(y, w.toArray(), sq, sq, sq);
    const viaResident = bw.matmul(y, w, sq, sq, sq);
    for (let i = 0; i < sq * sq; i++) assert(viaResident[i] === fresh[i], `stale packed copy used at ${i}`);
    w.free();
    rb.free();
    assert(bw.residentBytes === base, `packed copies freed with their matrix: ${bw.residentBytes} != ${base}`);
    return [first, t, viaResident];
  },
});

cases.push({
  name: 'API: options of the wrong type are ARG errors everywhere (never a TypeError)',
  async run({ bw, init }) {
    const a = randomF32(6, 1), w = randomF32(12 * 10, 2);
    const sm = bw.decompose(w, 12, 10, { blocks: 2 });
    const st = bw.stack({ a: sm });
    const calls = [
      () => bw.matmul(a, a, 2, 3, 2, null), () => bw.matmul(a, a, 2, 3, 2, { transA: 'no' }), () => bw.matmul(a, a, 2, 3, 2, 7),
      () => bw.svd(a, 2, 3, null), () => bw.svd(a, 2, 3, { computeUV: 'yes' }),
      () => bw.dctSelect(w, 12, 10, 2, null), () => bw.svdProject(w, 12, 10, 2, { exact: 1 }),
      () => bw.decompose(w, 12, 10, null), () => bw.decompose(w, 12, 10, { subtractRounded: 'no' }), () => bw.decompose(w, 12, 10, 'fast'),
      () => bw.decomposeAsync(w, 12, 10, null),
      () => bw.stack({ a: sm }, null), () => bw.stack({ a: sm }, { importance: { a: NaN } }), () => bw.stack({ a: sm }, { importance: { a: -1 } }),
      () => bw.stack({ a: sm }, { importance: 3 }), () => bw.stack({ a: sm }, { levelByLevel: 'yes' }),
      () => st.selectForBudget(1e9, null), () => st.selectForBudget(1e9, { fill: 1 }), () => st.selectForBudget(1e9, { minBlocks: 1.5 }),
      () => st.toSafetensors(null), () => st.toSafetensors({ prepend: 'x' }), () => st.toSafetensors({ metadata: { a: 1 } }),
      () => bw.readStack(st.toSafetensors(), null),
      () => sm.byteLength(-1), () => sm.byteLength(1.5), () => sm.reconstruct(-1), () => sm.blockByteLength(-1),
      () => bw.matrix(a, 2, 3, null), () => bw.matrix(a, 2, 3, { prepack: 'no' }),
      () => init(null),
    ];
    for (const [i, call] of calls.entries()) {
      const e = await expectError(call, 'ARG');
      assert(e.message.length > 0, `call ${i}`);
    }
    sm.free();
  },
});

cases.push({
  name: 'matmul: x·W with W resident (read from its packed panels) gives the bits of W read in place',
  run({ bw }) {
    const outputs = [];
    // Shapes that cross the packing's KC (512) and NC (4096) blocks and leave partial panels of 8 and groups of 32.
    for (const [k, n] of [[700, 4133], [37, 9], [600, 40], [5, 3]]) {
      const x = randomF32(k, k + n), w = randomF32(k * n, k * n + 1);
      const inPlace = bw.matmul(x, w, 1, k, n);
      const rw = bw.matrix(w, k, n);
      const packed = bw.matmul(x, rw, 1, k, n);
      const again = bw.matmul(x, rw, 1, k, n); // the packed copy reused
      rw.free();
      // The same bits on the default build (the relaxed build fuses where the in-place tail does not).
      if (!bw.features.relaxed) assert(packed.every((v, i) => Object.is(v, inPlace[i])) && again.every((v, i) => Object.is(v, inPlace[i])), `1×${k}·${k}×${n}: packed and in-place differ`);
      assert(again.every((v, i) => Object.is(v, packed[i])), `1×${k}·${k}×${n}: a second call differs`);
      // And against a float64 reference, to a bound from the maths: |Σ| error ≤ k·eps·Σ|x_p·w_pj|.
      for (let j = 0; j < n; j += Math.max(1, Math.floor(n / 17))) {
        let ref = 0, mag = 0;
        for (let p = 0; p < k; p++) { ref += x[p] * w[p * n + j]; mag += Math.abs(x[p] * w[p * n + j]); }
        assert(Math.abs(packed[j] - ref) <= k * 2 ** -24 * mag + 1e-30, `1×${k}·${k}×${n}: y[${j}] = ${packed[j]}, want ${ref}`);
      }
      outputs.push(packed);
    }
    return outputs;
  },
});
