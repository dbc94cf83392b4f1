// A page that uses bitstack-wasm through a bundler: `init()` finds the .wasm the bundler emitted
// (Vite and webpack copy `new URL('…', import.meta.url)` assets; see README "Bundlers").
import { init } from 'bitstack-wasm';

const out = document.getElementById('out');
try {
  const bw = await init();
  const c = bw.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([7, 8, 9, 10, 11, 12]), 2, 3, 2);
  out.textContent = `C = ${Array.from(c).join(', ')}`;
} catch (e) {
  out.textContent = `error ${e.code}: ${e.message}`;
}
