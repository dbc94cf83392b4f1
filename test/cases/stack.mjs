// Stacks: orders, budgets, the safetensors file (round trip, stack-order layout,
// the reference's naming) and corrupt files.
import { randomF32, rng, assert, expectError, utf8, lowRankPlusNoise } from './util.mjs';

export const cases = [];

function makeMatrices(bw) {
  const shapes = { 'layer.0.q': [24, 16], 'layer.0.up': [16, 40], 'layer.1.q': [24, 16] };
  const mats = {};
  let seed = 1;
  for (const [name, [m, n]] of Object.entries(shapes)) {
    // Different spectra, so the per-byte gains differ between matrices.
    const w = bw.matmul(randomF32(m * 6, seed++), randomF32(6 * n, seed++), m, 6, n).map((v, i) => v * (1 + seed / 10) + 0.1 * ((i * 7919) % 13 - 6));
    mats[name] = bw.decompose(w, m, n, { rank: 3, blocks: 4, seed, factors: 'f16' });
  }
  return mats;
}

function checkPrefixOrder(order, mats) {
  const next = Object.fromEntries(Object.keys(mats).map((n) => [n, 0]));
  for (const [name, i] of order) { assert(next[name] === i, `order: ${name} block ${i} out of sequence`); next[name]++; }
  for (const [n, sm] of Object.entries(mats)) assert(next[n] === sm.blockCount, `order misses blocks of ${n}`);
}

cases.push({
  name: 'stack: data-free order by gain per byte, level by level, budgets',
  async run({ bw }) {
    const mats = makeMatrices(bw);
    const st = bw.stack(mats);
    checkPrefixOrder(st.order, mats);
    // The first entry is the block 0 with the largest ‖ΔW‖² per byte.
    const gain0 = (sm) => sm.norm ** 2 * (1 - sm.relativeErrors[0] ** 2) / sm.blockBytes;
    const best = Object.entries(mats).sort((a, b) => gain0(b[1]) - gain0(a[1]))[0][0];
    assert(st.order[0][0] === best && st.order[0][1] === 0, `first entry ${st.order[0]}, expected ${best}`);
    // Every matrix's first block comes first.
    assert(st.order.slice(0, 3).every(([, i]) => i === 0), 'level 0 first');
    // Budgets: below the minimum (one block each) a BUDGET error; the minimum; everything.
    const min = st.minimumBytes();
    assert(min === Object.values(mats).reduce((s, sm) => s + sm.blockBytes, 0), `minimum ${min}`);
    const err = await expectError(() => st.selectForBudget(min - 1), 'BUDGET');
    assert(err.message.includes(`${min} bytes`) && /bits per compressed parameter/.test(err.message), err.message);
    await expectError(() => st.selectForBudget(0), 'BUDGET');
    assert(Object.values(st.selectForBudget(min)).every((c) => c === 1), 'the minimum gives one block each');
    assert(Object.values(st.selectForBudget(0, { minBlocks: 0 })).every((c) => c === 0), 'minBlocks 0: budget 0 loads nothing');
    await expectError(() => st.selectForBudget(st.byteLength(), { minBlocks: 5 }), 'ARG');
    await expectError(() => st.selectForBudget(st.byteLength(), { fill: 'yes' }), 'ARG');
    const two = st.selectForBudget(st.minimumBytes(2), { minBlocks: 2 });
    assert(Object.values(two).every((c) => c >= 2), 'minBlocks 2');
    const all = st.selectForBudget(st.byteLength());
    for (const [n, sm] of Object.entries(mats)) assert(all[n] === sm.blockCount, 'the whole stack fits its own size');
    for (let j = 3; j < st.order.length; j++) {
      const budget = st.byteLength(j) + st.matrices[st.order[j][0]].blockByteLength(st.order[j][1]) - 1;
      // Strict prefix (what a stream holds): exactly the first j entries.
      const counts = st.selectForBudget(budget, { fill: false });
      const want = {};
      for (const [n] of st.order.slice(0, j)) want[n] = (want[n] ?? 0) + 1;
      for (const n of Object.keys(mats)) assert((counts[n] ?? 0) === (want[n] ?? 0), `budget after ${j} entries: ${n} ${counts[n]} vs ${want[n] ?? 0}`);
      // Fill: a superset of the prefix, within the budget, and no matrix's next block still fits.
      const filled = st.selectForBudget(budget);
      assert(st.bytesFor(filled) <= budget, 'fill stays within the budget');
      for (const [n, sm] of Object.entries(mats)) {
        assert(filled[n] >= (want[n] ?? 0), `fill keeps the prefix of ${n}`);
        if (filled[n] < sm.blockCount) assert(st.bytesFor(filled) + sm.blockByteLength(filled[n]) > budget, `fill: ${n}'s next block still fits`);
      }
    }
    // Kept tensors count in a byte budget; a bits budget counts blocks only.
    const kept = bw.stack(mats, { keptBytes: 1000 });
    assert(kept.minimumBytes() === min + 1000 && kept.budgetForBits(8) === 1000 + Math.floor(kept.parameterCount), 'kept bytes in budgets');
    await expectError(() => kept.selectForBudget(min + 999), 'BUDGET');
    // Level by level: no two matrices ever differ by more than one block.
    const lvl = bw.stack(mats, { levelByLevel: true });
    checkPrefixOrder(lvl.order, mats);
    const seen = Object.fromEntries(Object.keys(mats).map((n) => [n, 0]));
    for (const [n] of lvl.order) {
      seen[n]++;
      const v = Object.values(seen);
      assert(Math.max(...v) - Math.min(...v) <= 1, 'level-by-level order');
    }
    // Importance moves a matrix forward.
    const heavy = bw.stack(mats, { importance: { 'layer.1.q': 1e6 } });
    assert(heavy.order[0][0] === 'layer.1.q', 'importance weights the gains');
    // External orders are checked.
    const ext = [...st.order].reverse();
    await expectError(() => bw.stack(mats, { order: ext }), 'ARG');
    await expectError(() => bw.stack(mats, { order: [['nope', 0]] }), 'ARG');
    await expectError(() => st.selectForBudget(-1), 'ARG');
    await expectError(() => bw.stack(mats, { keptBytes: -1 }), 'ARG');
    const custom = bw.stack(mats, { order: lvl.order });
    assert(custom.order.map((e) => e.join()).join() === lvl.order.map((e) => e.join()).join(), 'an external order is kept');
    for (const sm of Object.values(mats)) sm.free();
    return [Int32Array.from(st.order.map(([n, i]) => Object.keys(mats).indexOf(n) * 100 + i))];
  },
});

cases.push({
  name: 'stack: safetensors round trip, stack-order layout, scales',
  run({ bw, readSafetensors }) {
    // No prototype: '__proto__' below is an ordinary key, as a file's tensor names are.
    const mats = Object.assign(Object.create(null), makeMatrices(bw));
    const m = 12, n = 20;
    mats['scaled'] = bw.decompose(randomF32(m * n, 50), m, n, { rank: 2, blocks: 3, scale: Float32Array.from({ length: n }, (_, j) => 1 + j / 8) });
    // int8 factors with ranks chosen per block, and names that are Object.prototype's.
    const lowRank = lowRankPlusNoise(bw, 30, 26, 2, 0.2, [53, 54, 55]);
    mats['__proto__'] = bw.decompose(lowRank, 30, 26, { blocks: 4 });
    mats['constructor'] = bw.decompose(randomF32(30 * 26, 52), 30, 26, { blocks: 2, rank: 5 });
    const st = bw.stack(mats);
    const bytes = st.toSafetensors();
    // Data in stack order: every block's three tensors, block after block.
    const file = readSafetensors(bytes);
    const at = Object.fromEntries(file.tensors.map((t) => [t.name, t.begin]));
    let last = -1;
    for (const [name, i] of st.order) {
      for (const part of st.matrices[name].factors === 'int8' ? ['qweight', 'u', 'u_scale', 'vt', 'vt_scale'] : ['qweight', 'u', 'vt']) {
        const b = at[`${name}.${part}_${i}`];
        assert(b > last, `${name}.${part}_${i} is not laid out in stack order`);
        last = b;
      }
    }
    assert(at['scaled.scale'] < at[`${st.order[0][0]}.qweight_0`], 'scales come first');
    assert(file.metadata.version === '2' && Object.keys(file.tensors).length > 0, 'format version 2');
    const back = bw.readStack(bytes);
    assert(Object.getPrototypeOf(back.matrices) === null && Object.keys(back.matrices).length === 6, 'names that are Object.prototype keys round-trip');
    assert(back.keptBytes === 4 * n, `kept bytes: the scale (${back.keptBytes})`);
    assert(back.order.map((e) => e.join()).join() === st.order.map((e) => e.join()).join(), 'order round trip');
    const x = randomF32(n, 51);
    for (const [name, sm] of Object.entries(mats)) {
      const r = back.matrices[name];
      assert(r.rows === sm.rows && r.cols === sm.cols && r.ranks.join() === sm.ranks.join() && r.factors === sm.factors && r.blockCount === sm.blockCount, `${name}: shape`);
      for (let b = 1; b <= sm.blockCount; b++) {
        const w0 = sm.reconstruct(b), w1 = r.reconstruct(b);
        assert(w0.every((v, i) => v === w1[i]), `${name}: reconstruct(${b}) differs after the round trip`);
      }
      assert(r.relativeErrors.every((v, i) => v === sm.relativeErrors[i]), `${name}: errors kept in the metadata`);
    }
    const y0 = mats.scaled.matvec(x), y1 = back.matrices.scaled.matvec(x);
    assert(y0.every((v, i) => v === y1[i]), 'scaled matvec round trip');
    for (const sm of [...Object.values(mats), ...Object.values(back.matrices)]) sm.free();
    return [bytes];
  },
});

cases.push({
  name: 'stack: a file with the reference naming is read correctly, order from its compression configs',
  async run({ bw, writeSafetensors }) {
    const m = 8, n = 16, k = 2, blocks = 2;
    const r = rng(60);
    const tensors = [], expected = new Float32Array(m * n);
    for (let i = 0; i < blocks; i++) {
      const signs = Uint8Array.from({ length: m * n / 8 }, () => Math.floor(r() * 256));
      const a = Float32Array.from({ length: m * k }, () => r()), b = Float32Array.from({ length: k * n }, () => r() - 0.5);
      const a16 = bw.toFloat16(a), b16 = bw.toFloat16(b);
      const af = bw.fromFloat16(a16), bf = bw.fromFloat16(b16);
      for (let p = 0; p < m; p++) for (let q = 0; q < n; q++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += af[p * k + c] * bf[c * n + q];
        const bit = (signs[(p * n + q) >> 3] >> (7 - ((p * n + q) & 7))) & 1;
        expected[p * n + q] += (bit ? 1 : -1) * s;
      }
      tensors.push({ name: `model.layers.0.mlp.up_proj.qweight_${i}`, dtype: 'U8', shape: [m * n / 8], bytes: signs });
      tensors.push({ name: `model.layers.0.mlp.up_proj.u_${i}`, dtype: 'F16', shape: [m, k], bytes: new Uint8Array(a16.buffer) });
      tensors.push({ name: `model.layers.0.mlp.up_proj.vt_${i}`, dtype: 'F16', shape: [k, n], bytes: new Uint8Array(b16.buffer) });
    }
    tensors.push({ name: 'model.embed_tokens.weight', dtype: 'F16', shape: [4, 2], bytes: new Uint8Array(16) });
    const st = bw.readStack(writeSafetensors(tensors));
    const sm = st.matrices['model.layers.0.mlp.up_proj'];
    assert(Object.keys(st.matrices).length === 1 && sm.blockCount === 2 && sm.rank === k, 'one matrix, two blocks');
    const w = sm.reconstruct();
    for (let i = 0; i < m * n; i++) assert(Math.abs(w[i] - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])), `reference file: W[${i}] = ${w[i]}, expected ${expected[i]}`);
    assert(Number.isNaN(sm.relativeErrors[0]), 'errors unknown for a reference checkpoint');
    sm.free();
    // The reference's compression configs: every layer at 1 block, then one block more per step.
    const two = [...tensors];
    for (const t of tensors.filter((t) => t.name.startsWith('model.layers.0.mlp.up_proj.'))) two.push({ ...t, name: t.name.replace('up_proj', 'down_proj') });
    const configs = [
      { memory: 300, layers: { 'model.layers.0.mlp.up_proj': 1, 'model.layers.0.mlp.down_proj': 1 } },
      { memory: 400, layers: { 'model.layers.0.mlp.up_proj': 1, 'model.layers.0.mlp.down_proj': 2 } },
      { memory: 500, layers: { 'model.layers.0.mlp.up_proj': 2, 'model.layers.0.mlp.down_proj': 2 } },
    ];
    const fromConfig = bw.readStack(writeSafetensors(two), { compressionConfig: configs });
    assert(fromConfig.order.map((e) => e.join(':')).join() ===
      'model.layers.0.mlp.down_proj:0,model.layers.0.mlp.up_proj:0,model.layers.0.mlp.down_proj:1,model.layers.0.mlp.up_proj:1',
      `order from compression configs: ${fromConfig.order.map((e) => e.join(':'))}`);
    for (const m2 of Object.values(fromConfig.matrices)) m2.free();
    const badConfig = [configs[0], { memory: 600, layers: { 'model.layers.0.mlp.up_proj': 3, 'model.layers.0.mlp.down_proj': 1 } }];
    await expectError(() => bw.readStack(writeSafetensors(two), { compressionConfig: badConfig }), 'FORMAT');
    return [w];
  },
});

cases.push({
  name: 'stack: corrupt and hostile files are FORMAT errors',
  async run({ bw, writeSafetensors, readSafetensors }) {
    const ok = writeSafetensors([
      { name: 'x.qweight_0', dtype: 'U8', shape: [2], bytes: new Uint8Array([255, 0]) },
      { name: 'x.u_0', dtype: 'F16', shape: [2, 1], bytes: new Uint8Array(4) },
      { name: 'x.vt_0', dtype: 'F16', shape: [1, 8], bytes: new Uint8Array(16) },
    ]);
    const base = bw.residentBytes;
    bw.readStack(ok).matrices.x.free();
    const header = (obj) => rawHeader(JSON.stringify(obj));
    const rawHeader = (text) => {
      const json = utf8(text);
      const out = new Uint8Array(8 + json.length + 64);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    const bad = [
      new Uint8Array(3),                                                         // no header length
      Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 127, 0]),              // absurd header length
      ok.slice(0, 20),                                                           // truncated header
      ok.slice(0, ok.length - 1),                                                // truncated data
      header({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }),          // unsupported dtype
      header({ a: { dtype: 'constructor', shape: [1], data_offsets: [0, 1] } }), // a dtype named like Object.prototype's keys
      header({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 5] } }),          // shape vs bytes
      header({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }), // overlap
      header({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }),         // bad shape
      header({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1e6] } }),        // out of range
      header([1, 2]),                                                            // not an object
      header({ 'x.qweight_0': { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }), // parts missing
      header({ 'x.u_0': { dtype: 'F16', shape: [2, 1], data_offsets: [0, 4] }, 'x.vt_0': { dtype: 'F16', shape: [1, 8], data_offsets: [4, 20] },
        'x.qweight_0': { dtype: 'U8', shape: [3], data_offsets: [20, 23] } }),   // signs of the wrong size
    ];
    const notJson = ok.slice(); notJson[9] = 0x7b; notJson[10] = 0x7b;
    bad.push(notJson);
    for (const b of bad) await expectError(() => bw.readStack(b), 'FORMAT');
    // A stack whose matrix is named __proto__ with a scale tensor `__proto__.scale`: read as ordinary
    // names (the scale belongs to that matrix), and nothing reaches Object.prototype.
    const polluted = writeSafetensors([
      { name: '__proto__.scale', dtype: 'F32', shape: [8], bytes: new Uint8Array(new Float32Array(8).fill(2).buffer) },
      { name: '__proto__.qweight_0', dtype: 'U8', shape: [2], bytes: new Uint8Array([255, 0]) },
      { name: '__proto__.u_0', dtype: 'F16', shape: [2, 1], bytes: new Uint8Array(4) },
      { name: '__proto__.vt_0', dtype: 'F16', shape: [1, 8], bytes: new Uint8Array(16) },
    ]);
    const ps = bw.readStack(polluted);
    assert(Object.keys(ps.matrices).join() === '__proto__' && ps.matrices['__proto__'].scale?.[0] === 2, 'a matrix named __proto__ with its scale');
    assert(({}).scale === undefined && Object.getPrototypeOf(ps.matrices) === null, 'nothing reached Object.prototype');
    ps.matrices['__proto__'].free();
    // The same key twice (JSON.parse would keep the last), also spelled with an escape, and in
    // __metadata__; nesting past any header's need. The parser itself says so.
    for (const [text, why] of [
      ['{"x.u_0":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"x.u_0":{"dtype":"F16","shape":[2,1],"data_offsets":[4,8]}}', /"x\.u_0" twice/],
      ['{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', /"a" twice/],
      ['{"__metadata__":{"format":"a","format":"b"}}', /"format" twice/],
      [`{"__metadata__":{"x":${'['.repeat(5000)}${']'.repeat(5000)}}}`, /nests deeper than 8/],
    ]) {
      const e = await expectError(() => readSafetensors(rawHeader(text)), 'FORMAT');
      assert(why.test(e.message), `${text.slice(0, 40)}: ${e.message}`);
    }
    // Fuzz: bit flips, truncations and random bytes never end in anything but a FORMAT error or a valid stack.
    const r = rng(70);
    for (let t = 0; t < 2000; t++) {
      let b = ok.slice();
      const kind = t % 3;
      if (kind === 0) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
      else if (kind === 1) b = b.slice(0, Math.floor(r() * b.length));
      else b = Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256));
      try {
        for (const sm of Object.values(bw.readStack(b).matrices)) sm.free();
      } catch (e) {
        assert(e.name === 'BitstackError', `fuzz case ${t}: ${e.name}: ${e.message}`);
      }
    }
    assert(bw.residentBytes === base, `failed reads release their memory (${bw.residentBytes} != ${base})`);
  },
});

cases.push({
  name: 'safetensors: positioned reads and streaming give the same tensors; truncated streams fail',
  async run({ writeSafetensors, readSafetensors, openSafetensors, streamSafetensors }) {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]), b = new Uint8Array([9, 8, 7]), c = new Uint16Array([0x3c00, 0x4000]);
    const bytes = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [2, 3], bytes: new Uint8Array(a.buffer) },
      { name: 'b', dtype: 'U8', shape: [3], bytes: b },
      { name: 'c', dtype: 'F16', shape: [2], bytes: new Uint8Array(c.buffer) },
    ], { note: 'x' });
    const whole = readSafetensors(bytes);
    const reads = [];
    const file = await openSafetensors(async (offset, length) => { reads.push(length); return bytes.slice(offset, offset + length); }, bytes.length);
    assert(file.metadata.note === 'x' && file.tensors.map((t) => t.name).join() === 'a,b,c', 'header through positioned reads');
    for (const t of file.tensors) {
      const got = await file.read(t), want = whole.data.subarray(t.begin, t.end);
      assert(got.length === want.length && got.every((v, i) => v === want[i]), `${t.name} through positioned reads`);
    }
    assert(Math.max(...reads) <= Math.max(whole.data.length, bytes.length - whole.data.length), 'reads are one piece at a time');
    // Streaming, in small chunks, as a Response body would deliver.
    const chunked = (u8, size) => new ReadableStream({
      start(ctrl) { for (let i = 0; i < u8.length; i += size) ctrl.enqueue(u8.slice(i, i + size)); ctrl.close(); },
    });
    const seen = [];
    for await (const { entry, bytes: tb } of streamSafetensors(chunked(bytes, 5))) {
      const want = whole.data.subarray(entry.begin, entry.end);
      assert(tb.every((v, i) => v === want[i]), `${entry.name} streamed`);
      seen.push(entry.name);
    }
    assert(seen.join() === 'a,b,c', 'every tensor streamed, in file order');
    let failed = false;
    try {
      for await (const _ of streamSafetensors(chunked(bytes.slice(0, bytes.length - 2), 7))) { /* consume */ }
    } catch (e) {
      failed = e.name === 'BitstackError' && e.code === 'FORMAT';
    }
    assert(failed, 'a truncated stream is a FORMAT error');
    return [bytes];
  },
});

cases.push({
  name: 'stack: openStack from a reader and a Blob gives readStack\'s matrices, block by block',
  async run({ bw }) {
    const mats = Object.create(null);
    mats.a = bw.decompose(randomF32(40 * 56, 81), 40, 56, { blocks: 4 });
    mats.b = bw.decompose(randomF32(24 * 30, 82), 24, 30, { blocks: 3, factors: 'f16', rank: 4 });
    const file = bw.stack(mats).toSafetensors({ prepend: [{ name: 'kept', dtype: 'F32', shape: [3], bytes: new Uint8Array(new Float32Array([1, 2, 3]).buffer) }] });
    for (const sm of Object.values(mats)) sm.free();
    const whole = bw.readStack(file);
    const sources = [async (offset, length) => file.slice(offset, offset + length)];
    if (typeof Blob !== 'undefined') sources.push(new Blob([file]));
    const outputs = [];
    for (const source of sources) {
      const seen = [];
      const live = await bw.openStack(source, { requestBytes: 300, onBlock: (name, b) => seen.push(`${name}:${b}`) });
      await live.loaded;
      assert(seen.length === 7, `blocks joined one at a time: ${seen}`);
      assert(Array.from(new Float32Array(live.tensors.kept.bytes.slice().buffer)).join() === '1,2,3', 'kept tensor');
      for (const [name, sm] of Object.entries(live.matrices)) {
        const x = randomF32(sm.cols, 83);
        const y = sm.matvec(x), want = whole.matrices[name].matvec(x);
        assert(y.every((v, i) => v === want[i]), `${name}: same product as readStack`);
        if (source === sources[0]) outputs.push(y); // hashed: the same in hosts without Blob (jsc)
        sm.free();
      }
    }
    // A budget between the minimum and the whole file: the strict prefix of the order.
    const budget = whole.minimumBytes() + 200;
    const partial = await bw.openStack(sources[0], { budget });
    await partial.loaded;
    const want = whole.selectForBudget(budget, { fill: false });
    for (const name of Object.keys(want)) assert(partial.loadedBlocks(name) === want[name], `${name}: ${partial.loadedBlocks(name)} vs ${want[name]}`);
    for (const sm of [...Object.values(partial.matrices), ...Object.values(whole.matrices)]) sm.free();
    await expectError(() => bw.openStack(sources[0], { budget: 10 }), 'BUDGET');
    await expectError(() => bw.openStack(42), 'ARG');
    await expectError(() => bw.openStack(async () => new Uint8Array(3)), 'FORMAT');
    return outputs;
  },
});

cases.push({
  name: 'stack: decomposeMany gives decompose\'s blocks, on workers where the host has them',
  async run({ bw }) {
    const shapes = { wide: [48, 96], tall: [80, 40], small: [24, 24] };
    const matrices = Object.create(null);
    let seed = 91;
    for (const [name, [m, n]] of Object.entries(shapes)) { matrices[name] = [lowRankPlusNoise(bw, m, n, 3, 0.05, [seed, seed + 1, seed + 2]), m, n]; seed += 3; }
    const opts = { blocks: 4, seed: 5 };
    const progress = [];
    const many = await bw.decomposeMany(matrices, { ...opts, jobs: 2, onProgress: (p) => progress.push(p) });
    assert(Object.getPrototypeOf(many) === null && Object.keys(many).sort().join() === 'small,tall,wide', 'one result per name');
    assert(progress.length === 12 && progress.every((p) => p.blocks === 4 && p.matrices === 3), `progress: ${progress.length} reports`);
    // Workers where the host has them (Node's worker_threads; Web Workers in browsers and Deno), else this thread.
    const hasWorkers = typeof Worker === 'function' || (typeof process !== 'undefined' && !!process.versions?.node);
    const pooled = progress.some((p) => p.worker !== null);
    assert(pooled === hasWorkers, `pooled: ${pooled}, the host ${hasWorkers ? 'has' : 'has no'} workers`);
    const outputs = [];
    for (const [name, [w, m, n]] of Object.entries(matrices)) {
      const one = bw.decompose(w, m, n, opts);
      const a = many[name].reconstruct(), b = one.reconstruct();
      assert(a.every((v, i) => Object.is(v, b[i])), `${name}: the same blocks as decompose`);
      assert(many[name].ranks.join() === one.ranks.join(), `${name}: ranks`);
      outputs.push(a);
      one.free();
      many[name].free();
    }
    await expectError(() => bw.decomposeMany({ x: [new Float32Array(5), 2, 3] }), 'SHAPE');
    await expectError(() => bw.decomposeMany({}), 'EMPTY');
    await expectError(() => bw.decomposeMany({ x: [new Float32Array(6), 2, 3] }, { jobs: 0 }), 'ARG');
    return outputs;
  },
});
