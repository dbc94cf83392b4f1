// The bundled sentence model (Universal Sentence Encoder lite, tfjs) run on its
// task: sentences in, 512-d embeddings out, with any of its weights replaced —
// so that a compressed model is judged by what it computes, not only by weight
// error. tfjs (core, converter, wasm backend) comes from the dev dependencies:
// `loadTaskRunner` returns null when they are not installed.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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

interface ManifestWeight { name: string; shape: number[]; dtype: string }

/**
 * SentencePiece-style segmentation as the model's vocabulary expects: NFKC, '▁' marks a word start,
 * and the segmentation with the highest total piece score (Viterbi); a character no piece covers is
 * token 0 (unknown), consecutive unknowns merged.
 */
export class Tokenizer {
  readonly #pieces = new Map<string, { id: number; score: number }>();
  readonly #longest: number;

  constructor(vocab: Array<[string, number]>) {
    let longest = 1;
    vocab.forEach(([piece, score], id) => {
      // The first six entries are control tokens.
      if (id >= 6 && !this.#pieces.has(piece)) this.#pieces.set(piece, { id, score });
      longest = Math.max(longest, [...piece].length);
    });
    this.#longest = longest;
  }

  encode(text: string): number[] {
    const chars = [...('▁' + text.normalize('NFKC').trim().replace(/\s+/g, '▁'))];
    const n = chars.length;
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1), id = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === -Infinity) continue;
      // Unknown single character: a low score, so any real piece is preferred.
      if (best[i] - 20 > best[i + 1]) { best[i + 1] = best[i] - 20; from[i + 1] = i; id[i + 1] = 0; }
      let piece = '';
      for (let j = i; j < Math.min(n, i + this.#longest); j++) {
        piece += chars[j];
        const p = this.#pieces.get(piece);
        if (p && best[i] + p.score > best[j + 1]) { best[j + 1] = best[i] + p.score; from[j + 1] = i; id[j + 1] = p.id; }
      }
    }
    const ids: number[] = [];
    for (let at = n; at > 0; at = from[at]) ids.push(id[at]);
    ids.reverse();
    return ids.filter((t, i) => !(t === 0 && ids[i - 1] === 0));
  }
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
  const tokenizer = new Tokenizer(JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')));
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
      const size = w.shape.reduce((p, d) => p * d, 1) * (w.dtype === 'bool' ? 1 : 4);
      specs.push({ name: w.name, shape: w.shape, dtype: w.dtype });
      parts.push(all.subarray(off, off + size));
      off += size;
    }
  }

  return {
    dim: 512,
    async embed(sentences: string[], overrides: WeightOverrides = new Map()): Promise<Float32Array> {
      const chunks = specs.map((s, i) => {
        const o = overrides.get(s.name);
        if (!o) return parts[i];
        if (o instanceof Float32Array && s.dtype !== 'float32') throw new Error(`${s.name}: float32 override of a ${s.dtype} tensor`);
        if (o.byteLength !== parts[i].length) throw new Error(`${s.name}: override of ${o.byteLength} bytes for shape [${s.shape}] (${parts[i].length} bytes)`);
        return new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      });
      const data = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let at = 0;
      for (const c of chunks) { data.set(c, at); at += c.length; }
      const model = await conv.loadGraphModel(tf.io.fromMemory({
        modelTopology: json.modelTopology, weightSpecs: specs as never, weightData: data.buffer,
      }));
      try {
        const ids = sentences.map((s) => tokenizer.encode(s));
        const indices = ids.flatMap((t, i) => t.map((_, j) => [i, j]));
        const inputs = { indices: tf.tensor2d(indices, [indices.length, 2], 'int32'), values: tf.tensor1d(ids.flat(), 'int32') };
        const out = await model.executeAsync(inputs) as import('@tensorflow/tfjs-core').Tensor;
        const result = new Float32Array(await out.data());
        tf.dispose([out, inputs.indices, inputs.values]);
        return result;
      } finally {
        model.dispose();
      }
    },
  };
}

/** Mean over rows of the cosine between two row-major embedding sets of `dim` columns. */
export function meanCosine(a: Float32Array, b: Float32Array, dim: number): number {
  let sum = 0;
  const rows = a.length / dim;
  for (let r = 0; r < rows; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < dim; j++) {
      const x = a[r * dim + j], y = b[r * dim + j];
      ab += x * y; aa += x * x; bb += y * y;
    }
    sum += aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
  }
  return sum / rows;
}
