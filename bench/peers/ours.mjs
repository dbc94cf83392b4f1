// bitstack-wasm itself, as a benchmark peer: default (SIMD128) and relaxed builds,
// operands and result resident (bw.matrix) as the peers' tensors stay in their wasm memory,
// or Float32Arrays copied in and out on every call.
import { readFile } from 'node:fs/promises';
import { init } from 'bitstack-wasm';

export async function loadOurs({ relaxed = false, wasmFile } = {}) {
  const options = { relaxed };
  if (wasmFile) options[relaxed ? 'relaxedWasm' : 'wasm'] = await readFile(wasmFile);
  const bw = await init(options);
  return {
    bw,
    name: `ours${relaxed ? ' relaxed' : ''}${wasmFile ? ' (wasm-opt)' : ''}`,
    prepare(a, b, m, k, n, { resident = true } = {}) {
      const ra = resident ? bw.matrix(a, m, k) : a;
      const rb = resident ? bw.matrix(b, k, n) : b;
      const out = resident ? bw.matrix(new Float32Array(m * n), m, n) : new Float32Array(m * n);
      return {
        run() { bw.matmul(ra, rb, m, k, n, { out }); },
        result() { return bw.matmul(ra, rb, m, k, n); },
        dispose() { if (resident) { ra.free(); rb.free(); out.free(); } },
      };
    },
  };
}

/** True when this Node process validates relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd). */
export const relaxedAvailable = () => WebAssembly.validate(new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, ...new Array(16).fill(0), 253, 12, ...new Array(16).fill(0), 253, 12, ...new Array(16).fill(0), 253, 133, 2, 11,
]));
