// TensorFlow.js weights: a model.json's `weightsManifest` plus its binary shards.
// Works on bytes only (the caller supplies a shard reader), so it runs in every
// runtime: fs in Node, fetch in a browser or a Worker.

import { BitstackError } from '../errors.js';

/** One decoded tensor: float32 values (quantised and float16 weights dequantised), and the values as stored. */
export interface TfjsTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /**
   * The type the values keep without loss: 'float32', 'int32', 'bool', or 'float16' (weights the
   * manifest quantises to float16). uint8/uint16-quantised weights are 'float32' (their dequantised values).
   */
  dtype: 'float32' | 'float16' | 'int32' | 'bool';
  /** The values in `dtype`, little-endian (int32 values beyond 2^24 are exact here, not in `data`). */
  bytes: Uint8Array;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

const fail = (message: string): never => {
  throw new BitstackError('FORMAT', `tfjs weights: ${message}`);
};

/** float16 bits → float32 value. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bytesPer(w: ManifestWeight): number {
  const q = w.quantization;
  if (q) {
    if (q.dtype === 'uint8') return 1;
    if (q.dtype === 'uint16' || q.dtype === 'float16') return 2;
    return fail(`${w.name}: unsupported quantization dtype ${JSON.stringify(q.dtype)}`);
  }
  if (w.dtype === 'float32' || w.dtype === 'int32') return 4;
  if (w.dtype === 'bool') return 1;
  return fail(`${w.name}: unsupported dtype ${JSON.stringify(w.dtype)}`);
}

function decode(w: ManifestWeight, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = w.quantization;
  if (q?.dtype === 'float16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if (q) {
    const scale = q.scale ?? fail(`${w.name}: quantization without scale`);
    const min = q.min ?? fail(`${w.name}: quantization without min`);
    for (let i = 0; i < count; i++) out[i] = (q.dtype === 'uint8' ? bytes[i] : view.getUint16(2 * i, true)) * scale + min;
  } else if (w.dtype === 'float32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (w.dtype === 'int32') {
    for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  } else {
    for (let i = 0; i < count; i++) out[i] = bytes[i];
  }
  return out;
}

/**
 * Reads every weight of a tfjs model. `modelJson`: the parsed model.json;
 * `readShard(path)`: the bytes of one shard named in it (relative to model.json).
 * `filter(name, shape)` may skip tensors (their shards are still read whole).
 */
export async function readTfjsModel(
  modelJson: unknown,
  readShard: (path: string) => Promise<Uint8Array>,
  filter: (name: string, shape: number[]) => boolean = () => true,
): Promise<TfjsTensor[]> {
  const groups = (modelJson as { weightsManifest?: unknown })?.weightsManifest;
  if (!Array.isArray(groups)) fail('model.json has no weightsManifest array');
  const tensors: TfjsTensor[] = [];
  for (const group of groups as { paths?: unknown; weights?: unknown }[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) fail('a manifest group lacks paths or weights');
    const shards: Uint8Array[] = [];
    for (const path of group.paths as unknown[]) {
      if (typeof path !== 'string') fail('a shard path is not a string');
      shards.push(await readShard(path as string));
    }
    const total = shards.reduce((s, b) => s + b.byteLength, 0);
    const buffer = new Uint8Array(total);
    let at = 0;
    for (const b of shards) { buffer.set(b, at); at += b.byteLength; }
    let offset = 0;
    for (const w of group.weights as ManifestWeight[]) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`malformed weight entry ${JSON.stringify(w)?.slice(0, 80)}`);
      }
      const count = w.shape.reduce((p, d) => p * d, 1);
      const size = count * bytesPer(w);
      if (offset + size > total) fail(`${w.name} needs bytes ${offset}..${offset + size}, the shards hold ${total}`);
      if (filter(w.name, w.shape)) {
        const raw = buffer.subarray(offset, offset + size);
        const data = decode(w, raw, count);
        const q = w.quantization?.dtype;
        const dtype = q === 'float16' ? 'float16' : q ? 'float32' : (w.dtype as 'float32' | 'int32' | 'bool');
        tensors.push({ name: w.name, shape: w.shape.slice(), data, dtype, bytes: q && q !== 'float16' ? new Uint8Array(data.buffer) : raw.slice() });
      }
      offset += size;
    }
  }
  return tensors;
}
