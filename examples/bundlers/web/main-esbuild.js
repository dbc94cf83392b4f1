// The same page for esbuild, which does not copy `new URL('…', import.meta.url)` assets: copy
// node_modules/bitstack-wasm/build/kernels.simd.wasm next to the bundle and pass it to init.
import { init } from 'bitstack-wasm';

const out = document.getElementById('out');
try {
  const bw = await init({ wasm: fetch(new URL('./kernels.simd.wasm', import.meta.url)) });
  const c = bw.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([7, 8, 9, 10, 11, 12]), 2, 3, 2);
  out.textContent = `C = ${Array.from(c).join(', ')}`;
} catch (e) {
  out.textContent = `error ${e.code}: ${e.message}`;
}
