// The Worker's embeddings computed in Node, the same way: openStack of the same stack file (read from
// disk) at the same budget, the same sentence model module, tfjs's single-threaded SIMD wasm backend.
//   node examples/edge-worker/reference.mjs <assets dir> <bits> <texts JSON> → {"embeddings": base64 of f32}
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { init } from 'bitstack-wasm';
import { loadSentenceModel, weightsFromStack } from '../../build/cli/sentence-model.js';

const [dir, bitsArg, textsArg] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const conv = require('@tensorflow/tfjs-converter');
const wasm = require('@tensorflow/tfjs-backend-wasm');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/');
const log = console.log;
console.log = () => {}; // tfjs advertises tfjs-node on start
await tf.setBackend('wasm');
await tf.ready();
console.log = log;

const spec = JSON.parse(readFileSync(join(dir, 'sentence-model.json'), 'utf8'));
const quality = JSON.parse(readFileSync(join(dir, 'quality.json'), 'utf8'));
const step = quality.budgets.find((b) => b.bits === Number(bitsArg));
const bw = await init();
const file = await open(join(dir, 'model.bitstack.safetensors'));
const stack = await bw.openStack(async (offset, length) => {
  const buf = new Uint8Array(length);
  const { bytesRead } = await file.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}, { budget: step.bytes, requestBytes: 1 << 20 });
await stack.loaded;
await file.close();
const model = await loadSentenceModel(tf, conv, spec, weightsFromStack(stack));
const e = await model.embed(JSON.parse(textsArg), { batch: 16 });
console.log(JSON.stringify({ embeddings: Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('base64') }));
