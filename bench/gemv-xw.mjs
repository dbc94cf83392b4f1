// x·W (1×4096 · 4096×4096) with a resident W: read from its packed panels (the default, bw.matrix) against
// W read in place (bw.matrix(…, { prepack: false })), interleaved in one process, medians of 15×10 calls.
//   node bench/gemv-xw.mjs        (the comparison with tfjs-wasm: npm run bench:matmul -- --only gemv)
import { init } from '../build/entry/node.js';
const bw = await init();
const k = 4096, n = 4096;
const x = bw.matrix(new Float32Array(k).map(Math.random), 1, k);
const wData = new Float32Array(k * n).map(Math.random);
const packed = bw.matrix(wData, k, n), inPlace = bw.matrix(wData, k, n, { prepack: false });
const out = bw.matrix(new Float32Array(n), 1, n);
const t = { packed: [], inPlace: [] };
for (const w of [packed, inPlace]) bw.matmul(x, w, 1, k, n, { out });
for (let r = 0; r < 15; r++) for (const [name, w] of [['packed', packed], ['inPlace', inPlace]]) {
  const t0 = performance.now(); for (let i = 0; i < 10; i++) bw.matmul(x, w, 1, k, n, { out }); t[name].push((performance.now() - t0) / 10);
}
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1];
const gbs = (ms) => (k * n * 4 / ms / 1e6).toFixed(1);
console.log('packed', med(t.packed).toFixed(2), `ms (${gbs(med(t.packed))} GB/s of W); in place`, med(t.inPlace).toFixed(2),
  `ms (${gbs(med(t.inPlace))} GB/s); ratio in place/packed`, (med(t.inPlace) / med(t.packed)).toFixed(2));
