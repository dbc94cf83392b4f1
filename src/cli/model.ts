// Reading model files for the CLI (Node): tfjs (model.json + shards) and
// safetensors. Every tensor keeps the bytes and dtype it was stored with, so
// that tensors the CLI does not decompose are written back exactly; float
// tensors also decode to float32 for decomposition and evaluation.

import { open, readFile, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { BitstackError, readTfjsModel, openSafetensors, type Bitstack, type SafetensorsDtype, type SafetensorsReader } from '../core.js';

/** A tensor as its model file's header describes it. */
export interface TensorHeader {
  name: string;
  shape: number[];
  /** The dtype the values are stored in (tfjs float32/float16/int32/bool → F32/F16/I32/BOOL). */
  dtype: SafetensorsDtype;
  /** Bytes of its values as stored. */
  byteLength: number;
}

export interface Tensor extends TensorHeader {
  /** The values as stored, little-endian (a tensor loadModel was told not to read throws here). */
  bytes: Uint8Array;
  /** float32 values (floating dtypes only; computed on first use). */
  floats(): Float32Array;
}

/** Which tensors loadModel reads, decided from every tensor's header (in file order). */
export type ReadFilter = (headers: TensorHeader[]) => (header: TensorHeader) => boolean;

export const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

const TFJS_DTYPES: Record<string, SafetensorsDtype> = { float32: 'F32', float16: 'F16', int32: 'I32', bool: 'BOOL' };

/**
 * Loads the tensors of a model: a tfjs model.json (or its folder) or a .safetensors file (or a folder
 * of them). Safetensors are read header first, then tensor by tensor through positioned reads (no
 * file is held whole), and only the tensors `read` picks (default all): a compress shard reads its
 * own matrices and the kept tensors, not the whole model. tfjs models are read whole.
 */
export async function loadModel(bw: Bitstack, path: string, read?: ReadFilter): Promise<Tensor[]> {
  const info = await stat(path).catch(() => { throw new BitstackError('ARG', `no such file or folder: ${path}`); });
  if (info.isDirectory()) {
    const files = (await readdir(path)).sort();
    if (files.includes('model.json')) return loadModel(bw, join(path, 'model.json'), read);
    const shards = files.filter((f) => f.endsWith('.safetensors'));
    if (!shards.length) throw new BitstackError('ARG', `${path} holds neither model.json nor .safetensors files`);
    return loadSafetensors(bw, shards.map((f) => join(path, f)), read);
  }
  if (path.endsWith('.json')) {
    let json: unknown;
    try { json = JSON.parse(await readFile(path, 'utf8')); } catch (e) { throw new BitstackError('FORMAT', `${path}: not JSON (${(e as Error).message})`); }
    const dir = await realpath(dirname(path));
    const tensors = await readTfjsModel(json, (p, maxBytes) => readShardFile(dir, p, maxBytes));
    return tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: TFJS_DTYPES[t.dtype], byteLength: t.bytes.length, bytes: t.bytes, floats: () => t.data }));
  }
  return loadSafetensors(bw, [path], read);
}

/** The tensors of safetensors files (one model): every header first, then the tensors `read` picks. */
async function loadSafetensors(bw: Bitstack, paths: string[], read?: ReadFilter): Promise<Tensor[]> {
  const handles: FileHandle[] = [], readers: SafetensorsReader[] = [];
  try {
    for (const path of paths) {
      const info = await stat(path);
      if (!info.isFile()) throw new BitstackError('ARG', `${path} is not a regular file`);
      const { size } = info;
      const handle = await open(path, 'r');
      handles.push(handle);
      readers.push(await openSafetensors((offset, length) => readRange(handle, path, offset, length), size));
    }
    const headers = readers.flatMap((reader) => reader.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype, byteLength: t.end - t.begin })));
    const wanted = read ? read(headers) : () => true;
    const out: Tensor[] = [];
    let h = 0;
    for (const reader of readers) {
      for (const t of reader.tensors) {
        const header = headers[h++];
        if (!wanted(header)) {
          out.push({ ...header, get bytes(): Uint8Array { throw new BitstackError('ARG', `${header.name} was not read`); }, floats: () => { throw new BitstackError('ARG', `${header.name} was not read`); } });
          continue;
        }
        const bytes = await reader.read(t);
        let cached: Float32Array | undefined;
        out.push({ ...header, bytes, floats: () => (cached ??= decode(bw, t.name, t.dtype, bytes)) });
      }
    }
    return out;
  } finally {
    await Promise.all(handles.map((handle) => handle.close()));
  }
}

/** Bytes [offset, offset + length) of an open file, in reads of at most 1 GiB (Node aborts on one read ≥ 2 GiB). */
export async function readRange(handle: FileHandle, path: string, offset: number, length: number): Promise<Uint8Array> {
  if (length > 2 ** 32) throw new BitstackError('TOO_LARGE', `${path}: a tensor of ${length} bytes does not fit wasm32 memory`);
  const buf = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const { bytesRead } = await handle.read(buf, at, Math.min(length - at, 2 ** 30), offset + at);
    if (!bytesRead) throw new BitstackError('FORMAT', `${path}: short read at byte ${offset + at}`);
    at += bytesRead;
  }
  return buf;
}

/**
 * One shard of a tfjs model: a regular file inside `dir` (symbolic links resolved), read no further
 * than `maxBytes` (what the manifest still needs): a manifest is a hostile file.
 */
async function readShardFile(dir: string, name: string, maxBytes: number): Promise<Uint8Array> {
  const path = await realpath(join(dir, name)).catch(() => { throw new BitstackError('FORMAT', `shard ${JSON.stringify(name)} does not exist in ${dir}`); });
  if (!path.startsWith(dir + sep)) throw new BitstackError('FORMAT', `shard ${JSON.stringify(name)} resolves outside the model's folder (${path})`);
  const info = await stat(path);
  if (!info.isFile()) throw new BitstackError('FORMAT', `shard ${JSON.stringify(name)} is not a regular file`);
  if (info.size > maxBytes) throw new BitstackError('FORMAT', `shard ${JSON.stringify(name)} holds ${info.size} bytes, more than the ${maxBytes} its manifest group still needs`);
  const handle = await open(path, 'r');
  try {
    return await readRange(handle, path, 0, info.size);
  } finally {
    await handle.close();
  }
}

/** Stored bytes (a fresh buffer) as float32: F32 as is, F16 and BF16 converted in wasm, F64 rounded. */
export function decode(bw: Bitstack, name: string, dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
  if (dtype === 'F16') return bw.fromFloat16(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2));
  if (dtype === 'BF16') return bw.fromBfloat16(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2));
  if (dtype === 'F64') return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, aligned.length / 8));
  throw new BitstackError('FORMAT', `${name}: dtype ${dtype} is not a float type`);
}

/**
 * The tensor converted to f16 or bf16 when every value survives: finite, in range (|x| ≤ 65504 for
 * f16), and no nonzero value rounds to zero. Otherwise null (the caller keeps it as it is).
 */
export function narrowExactly(bw: Bitstack, t: Tensor, to: 'f16' | 'bf16'): { dtype: SafetensorsDtype; bytes: Uint8Array } | null {
  if (t.dtype !== 'F32' && t.dtype !== 'F64') return null;
  const x = t.floats();
  if (t.dtype === 'F64' && !new Float64Array(t.bytes.slice().buffer).every((v, i) => v === x[i])) return null;
  const h = to === 'f16' ? bw.toFloat16(x) : bw.toBfloat16(x);
  for (let i = 0; i < x.length; i++) {
    const v = x[i], e = to === 'f16' ? (h[i] >> 10) & 0x1f : (h[i] >> 7) & 0xff, top = to === 'f16' ? 0x1f : 0xff;
    if (!Number.isFinite(v) || e === top) return null;                 // NaN, Inf, or overflow to Inf
    if (v !== 0 && (h[i] & 0x7fff) === 0) return null;                  // underflow to zero
  }
  return { dtype: to === 'f16' ? 'F16' : 'BF16', bytes: new Uint8Array(h.buffer) };
}

/** A compressed matrix's dtype and shape in the original model (a stack file's metadata "originals"). */
export interface Original { dtype: SafetensorsDtype; shape: number[] }

/**
 * A stack file's metadata "originals", checked: every name one of its matrices (`sizeOf` gives its
 * rows·cols, undefined for other names) with as many values, and a float dtype.
 */
export function originalsOf(path: string, metadata: Record<string, string>, sizeOf: (name: string) => number | undefined): Map<string, Original> {
  const originals = new Map<string, Original>();
  if (!metadata.originals) return originals;
  let parsed: unknown;
  try { parsed = JSON.parse(metadata.originals); } catch { throw new BitstackError('FORMAT', `${path}: metadata "originals" is not JSON`); }
  for (const [name, v] of Object.entries((parsed ?? {}) as Record<string, Original>)) {
    const size = sizeOf(name);
    if (size === undefined || !v || !Array.isArray(v.shape) || v.shape.reduce((p, d) => p * d, 1) !== size) throw new BitstackError('FORMAT', `${path}: metadata "originals" does not match ${JSON.stringify(name)}`);
    if (!FLOAT_DTYPES.has(v.dtype)) throw new BitstackError('FORMAT', `${path}: metadata "originals": ${JSON.stringify(name)} has dtype ${String(v.dtype)}`);
    originals.set(name, { dtype: v.dtype, shape: v.shape.slice() });
  }
  return originals;
}

/** A budget as written on the command line: "1234", "3.5GB", "512MiB" (bytes) or "2.25bits" (per compressed parameter). */
export type Budget = { bytes: number } | { bits: number };

/** "1234", "3.5GB", "512MiB" → { bytes }; "2.25bits" → { bits }. */
export function parseBudget(text: string): Budget {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*(b|bytes?|kb|mb|gb|kib|mib|gib|bits?)?\s*$/i.exec(text);
  if (!m) throw new BitstackError('ARG', `cannot read budget "${text}" (use e.g. 1048576, 3.5GB, 512MiB or 2.25bits)`);
  const v = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  if (unit.startsWith('bit')) return { bits: v };
  const scale: Record<string, number> = { b: 1, byte: 1, bytes: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  return { bytes: Math.floor(v * scale[unit]) };
}
