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
 * A shard path from a manifest, which is content of a file and so hostile: relative, no `..`
 * segment, no scheme, drive, backslash, NUL or leading slash — it must name a file in the model's
 * folder, whatever `readShard` does with it (a file system, `fetch` relative to a URL).
 */
function checkShardPath(path: unknown): string {
  if (typeof path !== 'string' || !path.length) return fail('a shard path is not a non-empty string');
  if (path.startsWith('/') || /[\\\0:?#]/.test(path) || path.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')) {
    fail(`shard path ${JSON.stringify(path)} does not name a file inside the model's folder`);
  }
  return path;
}

/** A shard as bytes: any BufferSource (Uint8Array, another view, ArrayBuffer), never silently nothing. */
function shardBytes(path: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) return new Uint8Array(value);
  throw new BitstackError('ARG', `readShard(${JSON.stringify(path)}) must return a Uint8Array, another ArrayBuffer view or an ArrayBuffer, got ${value === null ? 'null' : typeof value}`);
}

/**
 * Reads every weight of a tfjs model. `modelJson`: the parsed model.json;
 * `readShard(path, maxBytes)`: the bytes of one shard named in it (relative to model.json; a
 * Uint8Array, any ArrayBuffer view or an ArrayBuffer), at most `maxBytes` — the bytes the manifest
 * still needs for that group: a longer shard is a FORMAT error. Shard paths are checked first:
 * one that leaves the model's folder is a FORMAT error and is never passed to `readShard`.
 * `filter(name, shape)` may skip tensors (their shards are still read whole).
 */
export async function readTfjsModel(
  modelJson: unknown,
  readShard: (path: string, maxBytes: number) => Promise<Uint8Array | ArrayBuffer | ArrayBufferView>,
  filter: (name: string, shape: number[]) => boolean = () => true,
): Promise<TfjsTensor[]> {
  if (typeof readShard !== 'function') throw new BitstackError('ARG', 'readShard must be a function (path, maxBytes) => Promise<bytes>');
  if (typeof filter !== 'function') throw new BitstackError('ARG', 'filter must be a function (name, shape) => boolean');
  const groups = (modelJson as { weightsManifest?: unknown })?.weightsManifest;
  if (!Array.isArray(groups)) fail('model.json has no weightsManifest array');
  const tensors: TfjsTensor[] = [];
  for (const group of groups as { paths?: unknown; weights?: unknown }[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) fail('a manifest group lacks paths or weights');
    const paths = (group.paths as unknown[]).map(checkShardPath);
    // The bytes the group's weights need: no shard may bring more.
    let needed = 0;
    for (const w of group.weights as ManifestWeight[]) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        fail(`malformed weight entry ${JSON.stringify(w)?.slice(0, 80)}`);
      }
      needed += w.shape.reduce((p, d) => p * d, 1) * bytesPer(w);
    }
    if (!Number.isSafeInteger(needed) || needed > 2 ** 32) fail(`a group declares ${needed} bytes of weights`);
    const shards: Uint8Array[] = [];
    let total = 0;
    for (const path of paths) {
      const bytes = shardBytes(path, await readShard(path, needed - total));
      if (total + bytes.byteLength > needed) fail(`shard ${JSON.stringify(path)} brings more bytes than the manifest declares (${needed} for its group)`);
      shards.push(bytes);
      total += bytes.byteLength;
    }
    const buffer = new Uint8Array(total);
    let at = 0;
    for (const b of shards) { buffer.set(b, at); at += b.byteLength; }
    let offset = 0;
    for (const w of group.weights as ManifestWeight[]) {
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
