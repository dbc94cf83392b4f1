// The bundled sentence model (Universal Sentence Encoder lite, a tfjs graph) without any host I/O:
// its tokenizer, and the graph loaded from weights given by name — from the model's own shards (the
// CLI's task runner), or from a BitStack stack at some budget (the offline app, the edge Worker).
// tfjs is passed in (core with a backend set, and the converter), so that every host brings its own.

import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfConverter from '@tensorflow/tfjs-converter';

/** One weight of the model's manifest, in the order of its weight data. */
export interface ManifestWeight { name: string; shape: number[]; dtype: string }

/** What the graph needs besides its weights: the topology, the weights' specs in order, the vocabulary. */
export interface SentenceModelSpec {
  modelTopology: unknown;
  weights: ManifestWeight[];
  vocab: Array<[string, number]>;
}

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

/** Bytes of one weight as the graph stores it (float32, int32 or bool), by manifest order. */
export const weightBytes = (w: ManifestWeight): number => w.shape.reduce((p, d) => p * d, 1) * (w.dtype === 'bool' ? 1 : 4);

/** A loaded graph: embeddings of sentences (sentences × 512, row-major). */
export interface SentenceModel {
  readonly dim: number;
  /**
   * Embeddings of `sentences`, `batch` at a time (default: all at once). Smaller batches bound the
   * activations' memory (tfjs's wasm heap grows to the largest batch and never shrinks).
   */
  embed(sentences: string[], opts?: { batch?: number }): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Loads the graph with the weights `bytesOf(w)` gives (each exactly weightBytes(w) long, in the
 * weight's own dtype). The weights are streamed to tfjs one at a time, as it asks for them, so that
 * besides tfjs's own copy at most one weight is in memory (not the whole model twice: what keeps
 * an edge Worker inside its memory limit).
 */
export async function loadSentenceModel(tf: Pick<typeof TfCore, 'io' | 'tensor2d' | 'tensor1d' | 'dispose'>, conv: Pick<typeof TfConverter, 'loadGraphModel'>, spec: SentenceModelSpec, bytesOf: (w: ManifestWeight) => Uint8Array): Promise<SentenceModel> {
  const getWeightStream = () => {
    let i = 0;
    return new ReadableStream<ArrayBuffer>({
      pull(controller) {
        if (i === spec.weights.length) { controller.close(); return; }
        const w = spec.weights[i++];
        const b = bytesOf(w);
        if (b.byteLength !== weightBytes(w)) throw new Error(`${w.name}: ${b.byteLength} bytes for [${w.shape}] ${w.dtype} (${weightBytes(w)} bytes)`);
        controller.enqueue(b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer as ArrayBuffer : b.slice().buffer);
      },
    });
  };
  const model = await conv.loadGraphModel({
    load: async () => ({ modelTopology: spec.modelTopology as never, weightSpecs: spec.weights as never, getWeightStream }),
  } as never);
  const tokenizer = new Tokenizer(spec.vocab);
  const embedAll = async (sentences: string[]): Promise<Float32Array> => {
    const ids = sentences.map((s) => tokenizer.encode(s));
    const indices = ids.flatMap((t, i) => t.map((_, j) => [i, j]));
    const inputs = { indices: tf.tensor2d(indices, [indices.length, 2], 'int32'), values: tf.tensor1d(ids.flat(), 'int32') };
    try {
      const out = await model.executeAsync(inputs) as TfCore.Tensor;
      const result = new Float32Array(await out.data());
      out.dispose();
      return result;
    } finally {
      tf.dispose([inputs.indices, inputs.values]);
    }
  };
  return {
    dim: 512,
    async embed(sentences, opts = {}) {
      const batch = Math.max(1, opts.batch ?? sentences.length);
      if (batch >= sentences.length) return embedAll(sentences);
      const out = new Float32Array(sentences.length * 512);
      for (let at = 0; at < sentences.length; at += batch) out.set(await embedAll(sentences.slice(at, at + batch)), at * 512);
      return out;
    },
    dispose() { model.dispose(); },
  };
}

/** What a loaded stack offers (a LiveStack or a Stack from readStack). */
interface StackLike {
  readonly matrices: Readonly<Record<string, { rows: number; cols: number; reconstruct(blocks?: number): Float32Array }>>;
  readonly tensors?: Readonly<Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>>;
}

const DTYPES: Record<string, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/**
 * The graph's weights from a stack: decomposed matrices reconstructed from their first `counts[name]`
 * blocks (default: all loaded), the rest from the kept tensors (`kept`, by name; default the stack's
 * own). A weight the stack lacks, or holds in another dtype or size, is an error: nothing is guessed.
 */
export function weightsFromStack(stack: StackLike, counts?: Readonly<Record<string, number>>, kept = stack.tensors): (w: ManifestWeight) => Uint8Array {
  const has = (o: object | undefined, k: string) => o !== undefined && Object.prototype.hasOwnProperty.call(o, k);
  return (w) => {
    if (has(stack.matrices, w.name)) {
      const sm = stack.matrices[w.name];
      if (w.dtype !== 'float32' || sm.rows * sm.cols !== weightBytes(w) / 4) throw new Error(`${w.name}: the stack's ${sm.rows}×${sm.cols} matrix does not fit [${w.shape}] ${w.dtype}`);
      const f = sm.reconstruct(counts && has(counts, w.name) ? counts[w.name] : undefined);
      return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
    }
    if (!kept || !has(kept, w.name)) throw new Error(`${w.name}: not in the stack`);
    const t = kept[w.name];
    if (t.dtype !== DTYPES[w.dtype] || t.bytes.byteLength !== weightBytes(w)) throw new Error(`${w.name}: kept as ${t.dtype} [${t.shape}], the graph wants ${w.dtype} [${w.shape}]`);
    return t.bytes;
  };
}

/** The `k` texts whose embeddings (row-major, `dim` columns, one row per text) are closest to `query` by cosine, best first. */
export function nearest(texts: readonly string[], embeddings: Float32Array, query: Float32Array, k: number, dim = 512): Array<{ text: string; score: number }> {
  let qq = 0;
  for (let j = 0; j < dim; j++) qq += query[j] * query[j];
  return texts.map((text, i) => {
    let dot = 0, nn = 0;
    for (let j = 0; j < dim; j++) { const v = embeddings[i * dim + j]; dot += v * query[j]; nn += v * v; }
    return { text, score: dot / Math.sqrt(nn * qq) };
  }).sort((a, b) => b.score - a.score).slice(0, k);
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
