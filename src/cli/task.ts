// The bundled sentence model (Universal Sentence Encoder lite, tfjs) run on its
// task: sentences in, 512-d embeddings out, with any of its weights replaced —
// so that a compressed model is judged by what it computes, not only by weight
// error. tfjs (core, converter, wasm backend) comes from the dev dependencies:
// `loadTaskRunner` returns null when they are not installed.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadSentenceModel, weightBytes, type ManifestWeight } from './sentence-model.js';

export { Tokenizer, meanCosine } from './sentence-model.js';

/**
 * Weights to use instead of the model's own, by tensor name (shapes as in the model): float32 values,
 * or the bytes of the tensor in the model's own dtype (e.g. int32 constants).
 */
export type WeightOverrides = Map<string, Float32Array | Uint8Array>;

export interface TaskRunner {
  /** Embeddings (sentences × 512, row-major) of the model with `overrides` in place of its weights. */
  embed(sentences: string[], overrides?: WeightOverrides): Promise<Float32Array>;
  readonly dim: number;
}

/** The runner for the model at `modelJson` (its folder holds the shards and vocab.json), or null without tfjs. */
export async function loadTaskRunner(modelJson: string): Promise<TaskRunner | null> {
  const require = createRequire(import.meta.url);
  let tf: typeof import('@tensorflow/tfjs-core'), conv: typeof import('@tensorflow/tfjs-converter');
  try {
    tf = require('@tensorflow/tfjs-core');
    conv = require('@tensorflow/tfjs-converter');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/');
    wasm.setThreadsCount(1);
  } catch {
    return null;
  }
  if (tf.getBackend() !== 'wasm') {
    // tfjs prints a line about a faster Node backend when it starts; it is not ours to show.
    const log = console.log;
    console.log = () => {};
    try {
      await tf.setBackend('wasm');
      await tf.ready();
    } finally {
      console.log = log;
    }
  }
  const dir = dirname(modelJson);
  const json = JSON.parse(await readFile(modelJson, 'utf8'));
  const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8'));
  const specs: ManifestWeight[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest as Array<{ paths: string[]; weights: ManifestWeight[] }>) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    const all = new Uint8Array(shards.reduce((s, b) => s + b.length, 0));
    let at = 0;
    for (const b of shards) { all.set(b, at); at += b.length; }
    let off = 0;
    for (const w of group.weights) {
      if ((w as { quantization?: unknown }).quantization) throw new Error(`${w.name}: quantised weights are not supported by the task runner`);
      const size = weightBytes(w);
      specs.push({ name: w.name, shape: w.shape, dtype: w.dtype });
      parts.push(all.subarray(off, off + size));
      off += size;
    }
  }
  const spec = { modelTopology: json.modelTopology, weights: specs, vocab };

  return {
    dim: 512,
    async embed(sentences: string[], overrides: WeightOverrides = new Map()): Promise<Float32Array> {
      const model = await loadSentenceModel(tf, conv, spec, (w) => {
        const i = specs.indexOf(w);
        const o = overrides.get(w.name);
        if (!o) return parts[i];
        if (o instanceof Float32Array && w.dtype !== 'float32') throw new Error(`${w.name}: float32 override of a ${w.dtype} tensor`);
        return new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      });
      try {
        return await model.embed(sentences);
      } finally {
        model.dispose();
      }
    },
  };
}
