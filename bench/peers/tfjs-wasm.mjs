// @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), one thread.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

export async function loadTfjsWasm() {
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/');
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return {
    name: 'tfjs-wasm',
    detail: `tfjs-backend-wasm ${require('@tensorflow/tfjs-backend-wasm/package.json').version}, simd=${simd}, threads=1`,
    threadsAvailable: threads,
    /** Resident operands (as a tfjs model holds its weights); returns a function doing one product. */
    prepare(a, b, m, k, n) {
      const ta = tf.tensor2d(a, [m, k]);
      const tb = tf.tensor2d(b, [k, n]);
      return {
        run() { tf.matMul(ta, tb).dispose(); },
        result() { const c = tf.matMul(ta, tb); const d = c.dataSync().slice(); c.dispose(); return d; },
        dispose() { ta.dispose(); tb.dispose(); },
      };
    },
  };
}
