// Reading and writing model files for the CLI (Node): tfjs (model.json + shards)
// and safetensors (F32, F16, BF16), decoded to float32 tensors.

import { open, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BitstackError, readTfjsModel, openSafetensors, type Bitstack, type SafetensorsEntry } from '../core.js';

export interface Tensor { name: string; shape: number[]; data: Float32Array }

/** Loads every float tensor of a model: a tfjs model.json (or its folder) or a .safetensors file (or a folder of them). */
export async function loadModel(bw: Bitstack, path: string): Promise<Tensor[]> {
  const info = await stat(path).catch(() => { throw new BitstackError('ARG', `no such file or folder: ${path}`); });
  if (info.isDirectory()) {
    const files = (await readdir(path)).sort();
    if (files.includes('model.json')) return loadModel(bw, join(path, 'model.json'));
    const shards = files.filter((f) => f.endsWith('.safetensors'));
    if (!shards.length) throw new BitstackError('ARG', `${path} holds neither model.json nor .safetensors files`);
    const all: Tensor[] = [];
    for (const f of shards) all.push(...await loadModel(bw, join(path, f)));
    return all;
  }
  if (path.endsWith('.json')) {
    const json = JSON.parse(await readFile(path, 'utf8'));
    const dir = dirname(path);
    return readTfjsModel(json, async (p) => new Uint8Array(await readFile(join(dir, p))));
  }
  // Tensor by tensor through positioned reads: the file is never held whole.
  const handle = await open(path, 'r');
  try {
    const file = await openSafetensors(async (offset, length) => {
      const buf = new Uint8Array(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new BitstackError('FORMAT', `${path}: short read at byte ${offset}`);
      return buf;
    }, info.size);
    const out: Tensor[] = [];
    for (const t of file.tensors) out.push(decode(bw, t, await file.read(t)));
    return out;
  } finally {
    await handle.close();
  }
}

/** A tensor's bytes (a fresh buffer) as float32: F32 as is, F16 and BF16 converted in wasm. */
function decode(bw: Bitstack, t: SafetensorsEntry, bytes: Uint8Array): Tensor {
  let data: Float32Array;
  if (t.dtype === 'F32') data = new Float32Array(bytes.buffer, 0, bytes.length / 4);
  else if (t.dtype === 'F16') data = bw.fromFloat16(new Uint16Array(bytes.buffer, 0, bytes.length / 2));
  else if (t.dtype === 'BF16') data = bw.fromBfloat16(new Uint16Array(bytes.buffer, 0, bytes.length / 2));
  else throw new BitstackError('FORMAT', `${t.name}: dtype ${t.dtype} is not a float type this tool reads`);
  return { name: t.name, shape: t.shape, data };
}

/** "1234", "3.5GB", "512MiB", "2.25bits" → bytes (bits per parameter use `params`). */
export function parseBudget(text: string, params: number): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*(b|bytes?|kb|mb|gb|kib|mib|gib|bits?)?\s*$/i.exec(text);
  if (!m) throw new BitstackError('ARG', `cannot read budget "${text}" (use e.g. 1048576, 3.5GB, 512MiB or 2.25bits)`);
  const v = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale: Record<string, number> = { b: 1, byte: 1, bytes: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  if (unit.startsWith('bit')) return Math.floor(v * params / 8);
  return Math.floor(v * scale[unit]);
}
