// Two kernel builds' GEMVs on the raw ABI (gemv_f32_part), interleaved in one process, 4096×4096 f32:
// W·x (the dot kernel) and x·W with W in place (the axpy kernel). Prints GB/s of W read, and whether the
// two builds give the same bits. For kernel changes: keep the old build, rebuild, compare.
//   cp build/kernels.simd.wasm /tmp/base.wasm   (then change assembly/ and npm run build:wasm)
//   node bench/gemv-builds.mjs --base /tmp/base.wasm [--runs 15]
import { readFileSync } from 'node:fs';
import { arg, interleavedMedians } from './lib.mjs';

const basePath = arg('base', '');
if (!basePath) { console.error('usage: node bench/gemv-builds.mjs --base <an older kernels.simd.wasm> [--runs 15]'); process.exit(2); }
const runs = Number(arg('runs', 15));
const k = 4096, n = 4096, bytes = k * n * 4;
const w = new Float32Array(k * n).map(Math.random), x = new Float32Array(k).map(Math.random);

async function load(file) {
  const ex = (await WebAssembly.instantiate(readFileSync(file), {})).instance.exports;
  const at = ex.memory.buffer.byteLength;
  ex.memory.grow(Math.ceil((bytes + (1 << 20)) / 65536));
  const W = at + 65536, X = W + bytes, Y = X + k * 4, tile = Y + n * 4;
  new Float32Array(ex.memory.buffer, W, k * n).set(w);
  new Float32Array(ex.memory.buffer, X, k).set(x);
  return {
    // W·x: C (n) = W (n×k) · x; x·W: C (n) = x · W (k×n), W read in place.
    'W·x': () => ex.gemv_f32_part(W, X, Y, n, k, 1, 0, 0, 0, 0, n, tile),
    'x·W': () => ex.gemv_f32_part(X, W, Y, 1, k, n, 0, 0, 0, 0, n, tile),
    out: () => new Float32Array(ex.memory.buffer, Y, n).slice(),
  };
}

const builds = { base: await load(basePath), current: await load(new URL('../build/kernels.simd.wasm', import.meta.url)) };
console.log(`| product | base GB/s | current GB/s | current/base | same bits |\n|---|---|---|---|---|`);
for (const op of ['W·x', 'x·W']) {
  for (const b of Object.values(builds)) b[op]();
  const same = builds.base.out().every((v, i) => Object.is(v, builds.current.out()[i]));
  const t = await interleavedMedians({ base: builds.base[op], current: builds.current[op] }, { runs });
  const gbs = (seconds) => bytes / seconds / 1e9;
  const [a, c] = [t.base, t.current];
  console.log(`| ${op} 4096×4096 | ${gbs(a).toFixed(1)} | ${gbs(c).toFixed(1)} | ${(a / c).toFixed(2)} | ${same ? 'yes' : 'NO'} |`);
}
