// The tfjs weights reader on manifests and shards built here: every dtype it
// decodes, tensors spanning shards, and malformed input.
import { assert, expectError } from './util.mjs';

function shardsOf(bytes, size) {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

export const cases = [{
  name: 'tfjs reader: float32, float16 and uint8/uint16-quantised weights across shards',
  async run({ readTfjsModel }) {
    const f32 = new Float32Array([1.5, -2, 0.25, 3, 4, 5]);
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001]); // 1, -2, ≈0.33325, 2^-24
    const u8 = new Uint8Array([0, 1, 255]);
    const u16 = new Uint16Array([0, 1000, 65535]);
    const bytes = new Uint8Array(f32.byteLength + f16.byteLength + u8.byteLength + u16.byteLength);
    let at = 0;
    for (const part of [f32, f16, u8]) { bytes.set(new Uint8Array(part.buffer), at); at += part.byteLength; }
    bytes.set(new Uint8Array(u16.buffer), at);
    const shards = shardsOf(bytes, 7); // tensors straddle shard boundaries
    const json = {
      weightsManifest: [{
        paths: shards.map((_, i) => `s${i}`),
        weights: [
          { name: 'w', shape: [2, 3], dtype: 'float32' },
          { name: 'h', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
          { name: 'q8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
          { name: 'q16', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.001, min: 2 } },
        ],
      }],
    };
    const read = async (p) => shards[Number(p.slice(1))];
    const t = await readTfjsModel(json, read);
    assert(t.map((x) => x.name).join() === 'w,h,q8,q16', 'names in order');
    assert(t[0].shape.join() === '2,3' && Array.from(t[0].data).join() === '1.5,-2,0.25,3,4,5', 'float32 tensor');
    assert(t[1].data[0] === 1 && t[1].data[1] === -2 && Math.abs(t[1].data[2] - 0.33325) < 1e-4 && t[1].data[3] === 2 ** -24, `float16: ${t[1].data}`);
    assert(Array.from(t[2].data).join() === '-1,-0.5,126.5', `uint8: ${t[2].data}`);
    assert(Math.abs(t[3].data[1] - 3) < 1e-6 && Math.abs(t[3].data[2] - 67.535) < 1e-3, `uint16: ${t[3].data}`);
    const only = await readTfjsModel(json, read, (name) => name === 'q8');
    assert(only.length === 1 && only[0].name === 'q8', 'filter');
    // Shards as an ArrayBuffer or another view give the same tensors (never zeros); readShard is told
    // how many bytes the group still needs.
    const asked = [];
    for (const wrap of [(u) => u.slice().buffer, (u) => new DataView(u.slice().buffer), (u) => new Uint8ClampedArray(u.slice())]) {
      const even = shardsOf(bytes, 8);
      const got = await readTfjsModel({ weightsManifest: [{ ...json.weightsManifest[0], paths: even.map((_, i) => `s${i}`) }] },
        async (p, max) => { asked.push(max); return wrap(even[Number(p.slice(1))]); });
      for (let i = 0; i < t.length; i++) assert(got[i].data.every((v, j) => Object.is(v, t[i].data[j])), `${got[i].name} from ${wrap}`);
    }
    assert(asked.slice(0, 4).join() === `${bytes.length},${bytes.length - 8},${bytes.length - 16},${bytes.length - 24}`, `maxBytes: ${asked.slice(0, 4)}`);
    return t.map((x) => x.data);
  },
}, {
  name: 'tfjs reader: malformed manifests are FORMAT errors',
  async run({ readTfjsModel }) {
    const read = async () => new Uint8Array(8);
    const group = (weights) => ({ weightsManifest: [{ paths: ['a'], weights }] });
    await expectError(() => readTfjsModel({}, read), 'FORMAT');
    await expectError(() => readTfjsModel({ weightsManifest: [{ paths: 'a' }] }, read), 'FORMAT');
    await expectError(() => readTfjsModel(group([{ name: 'x', shape: [3], dtype: 'float32' }]), read), 'FORMAT'); // 12 > 8 bytes
    await expectError(() => readTfjsModel(group([{ name: 'x', shape: [-1], dtype: 'float32' }]), read), 'FORMAT');
    await expectError(() => readTfjsModel(group([{ name: 'x', shape: [1], dtype: 'complex64' }]), read), 'FORMAT');
    await expectError(() => readTfjsModel(group([{ name: 'x', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8', min: 0 } }]), read), 'FORMAT');
    const ok = await readTfjsModel(group([{ name: 'x', shape: [2], dtype: 'float32' }]), read);
    assert(ok[0].data.length === 2, 'a tensor that fits is read');
    // A shard that brings more bytes than the manifest declares (a device file, the wrong file).
    await expectError(() => readTfjsModel(group([{ name: 'x', shape: [1], dtype: 'float32' }]), read), 'FORMAT');
    // Paths that leave the model's folder are refused before readShard sees them.
    const seen = [];
    const spy = async (p) => { seen.push(p); return new Uint8Array(8); };
    for (const p of ['../../../../etc/passwd', '/etc/passwd', 'a/../../b', 'a//b', './a', 'C:\\x', 'https://example.com/x', 'a\\..\\b', '', 'a\u0000b']) {
      await expectError(() => readTfjsModel({ weightsManifest: [{ paths: [p], weights: [{ name: 'x', shape: [2], dtype: 'float32' }] }] }, spy), 'FORMAT');
    }
    assert(seen.length === 0, `readShard was called with ${seen}`);
    assert((await readTfjsModel({ weightsManifest: [{ paths: ['sub/dir/a.bin'], weights: [{ name: 'x', shape: [2], dtype: 'float32' }] }] }, spy)).length === 1, 'a path in a subfolder is fine');
    // A readShard that returns something else is an ARG error, not zeros.
    for (const wrong of ['bytes', null, [1, 2, 3], { length: 8 }]) {
      await expectError(() => readTfjsModel(group([{ name: 'x', shape: [2], dtype: 'float32' }]), async () => wrong), 'ARG');
    }
    await expectError(() => readTfjsModel(group([]), 'not a function'), 'ARG');
  },
}];

cases.push({
  name: 'tfjs reader: fuzzed manifests and shards end in FORMAT errors or valid tensors',
  async run({ readTfjsModel }) {
    // A tiny deterministic PRNG (the one in util.mjs, inlined to keep this file's imports as they are).
    let s = 12345;
    const r = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
    const base = { weightsManifest: [{ paths: ['s0'], weights: [
      { name: 'w', shape: [2, 3], dtype: 'float32' },
      { name: 'h', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
    ] }] };
    const text = JSON.stringify(base);
    let ok = 0;
    for (let t = 0; t < 1500; t++) {
      let json;
      const chars = text.split('');
      for (let k = 0; k < 1 + (t % 4); k++) chars[Math.floor(r() * chars.length)] = String.fromCharCode(32 + Math.floor(r() * 95));
      try { json = JSON.parse(chars.join('')); } catch { json = t % 2 ? null : [1, { a: 2 }]; }
      const shard = Uint8Array.from({ length: Math.floor(r() * 48) }, () => Math.floor(r() * 256));
      try {
        const out = await readTfjsModel(json, async (p) => (p === 's0' ? shard : new Uint8Array(0)));
        for (const x of out) assert(x.data.length === x.shape.reduce((a, b) => a * b, 1), 'decoded length matches the shape');
        ok++;
      } catch (e) {
        assert(e.name === 'BitstackError' && e.code === 'FORMAT', `fuzz case ${t}: ${e.name}: ${e.message}`);
      }
    }
    assert(ok > 0, 'some fuzzed inputs are still valid');
  },
});
