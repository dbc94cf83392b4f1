// tfjs (core, converter, wasm backend) inside workerd. Two things differ from a browser:
// - workerd compiles no wasm at run time, and tfjs-backend-wasm instantiates its binary from fetched
//   bytes. The binary is imported as a module instead (wrangler compiles it at deploy time), and the
//   one instantiate call that asks for it is answered with that module.
// - tfjs's platform fetch answers that one request (tfjs takes workerd for a browser; if it ever
//   recognises nothing, it gets a small platform of its own).
import * as tf from '@tensorflow/tfjs-core';
import * as conv from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import tfjsWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';

const MARKER = 'bitstack-edge:tfjs-backend-wasm-simd';
let ready;

/** The tfjs namespaces with the wasm backend (single-threaded SIMD, as the Node reference). */
export function loadTfjs() {
  return ready ??= (async () => {
    const encoder = new TextEncoder();
    const markerFetch = (next) => (path, init) => (path === MARKER ? Promise.resolve(new Response(encoder.encode(MARKER))) : next(path, init));
    let platform = null;
    try { platform = tf.env().platform; } catch { /* none recognised */ }
    if (platform) {
      // tfjs took workerd for a browser (it has WorkerGlobalScope's names): keep that platform.
      platform.fetch = markerFetch(platform.fetch.bind(platform));
    } else {
      tf.setPlatform('workerd', {
        fetch: markerFetch((path, init) => fetch(path, init)),
        now: () => performance.now(),
        encode: (text) => encoder.encode(text),
        decode: (bytes, encoding) => new TextDecoder(encoding).decode(bytes),
        isTypedArray: (a) => ArrayBuffer.isView(a) && !(a instanceof DataView),
        setTimeoutCustom: (fn, ms) => setTimeout(fn, ms),
      });
    }
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = function (source, imports) {
      const isMarker = source instanceof ArrayBuffer && new TextDecoder().decode(source) === MARKER;
      return isMarker ? instantiate(tfjsWasm, imports).then((instance) => ({ instance, module: tfjsWasm })) : instantiate.call(this, source, imports);
    };
    setWasmPaths({ 'tfjs-backend-wasm.wasm': MARKER, 'tfjs-backend-wasm-simd.wasm': MARKER, 'tfjs-backend-wasm-threaded-simd.wasm': MARKER }, true);
    await tf.setBackend('wasm');
    await tf.ready();
    return { tf, conv };
  })();
}
