// `bitstack-wasm merge`: the shard files of `compress --shard i/N` into the stack file an unsharded
// compress writes, byte for byte, streamed. Only the shards' headers are parsed (and checked); the
// global order comes from their metadata (each matrix's errors and norm); then every tensor is copied
// from its shard to the output in bounded reads. No block enters wasm memory and no file is held
// whole, so the merged stack may be larger than a wasm32 instance (4 GiB) or than this machine's RAM.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { BitstackError } from '../core.js';
import { openSafetensors, safetensorsHeader, type SafetensorsEntry } from '../formats/safetensors.js';
import { defaultOrder, isBlockTensor, planStack, stackFileLayout, type MatrixPlan, type StackLayoutMatrix, type StackLayoutTensor } from '../ops/stack.js';
import { writeAtomically } from './atomic.js';
import { originalsOf, readRange, type Original } from './model.js';

/** What compress --shard writes into a shard's metadata: its index, the count, and every matrix of the whole compress in model order. */
export interface ShardInfo { index: number; count: number; names: string[] }

/** How a tensor's bytes are checked while they are copied (as readStack checks them). */
type Check = 'none' | 'f16' | 'scale';

/** A tensor's bytes in a shard file: `byteLength` bytes from `at` (absolute). */
interface FileRange { shard: OpenShard; at: number; byteLength: number; check: Check; name: string }

interface OpenShard { path: string; handle: FileHandle; size: number }

/** Bytes read and written at once: the copy holds no more than this. */
const CHUNK = 16 * 2 ** 20;

const formatError = (message: string): never => { throw new BitstackError('FORMAT', `bitstack file: ${message}`); };

/** Reads and checks a shard's header: its shard info, matrix plans, kept tensors and originals. */
async function readShard(shard: OpenShard) {
  const file = await openSafetensors((offset, length) => readRange(shard.handle, shard.path, offset, length), shard.size);
  let si: ShardInfo;
  try { si = JSON.parse(file.metadata.shard ?? 'null'); } catch { throw new BitstackError('FORMAT', `${shard.path}: metadata "shard" is not JSON`); }
  if (!si || !Number.isInteger(si.count) || !(si.count >= 1) || !Number.isInteger(si.index) || !(si.index >= 0 && si.index < si.count) || !Array.isArray(si.names) || !si.names.every((n) => typeof n === 'string')) {
    throw new BitstackError('FORMAT', `${shard.path} is not a shard file (compress --shard i/N writes them)`);
  }
  const { plans } = planStack(file.tensors, file.metadata);
  const kept = file.tensors.filter((t) => !isBlockTensor(t.name, plans));
  const originals = originalsOf(shard.path, file.metadata, (name) => { const p = plans.get(name); return p && p.rows * p.cols; });
  return { si, plans, kept, originals, dataStart: file.dataStart };
}

/** A matrix of a shard's header, laid out from its file ranges. */
function layoutOf(plan: MatrixPlan, range: (e: SafetensorsEntry, check: Check) => FileRange): StackLayoutMatrix<FileRange> {
  const bytes = plan.blocks.map((b) => Object.values(b.parts).reduce((s, e) => s + e!.end - e!.begin, 0));
  return {
    rows: plan.rows, cols: plan.cols, factors: plan.factors, ranks: plan.blocks.map((b) => b.k), blockCount: plan.blocks.length,
    norm: plan.norm, relativeErrors: plan.errors,
    blockByteLength: (i) => bytes[i],
    scaleBytes: () => (plan.scale ? range(plan.scale, 'scale') : null),
    blockParts: (i) => {
      const p = plan.blocks[i].parts, factors: Check = plan.factors === 'f16' ? 'f16' : 'none';
      return {
        signs: range(p.qweight!, 'none'), a: range(p.u!, factors), b: range(p.vt!, factors),
        ...(p.u_scale ? { aScale: range(p.u_scale, 'f16'), bScale: range(p.vt_scale!, 'f16') } : {}),
      };
    },
  };
}

/** Copies a tensor from its shard into `out` at `at`, in chunks, checking its values on the way. */
async function copyRange(src: FileRange, out: FileHandle, at: number, buf: Uint8Array): Promise<void> {
  for (let done = 0; done < src.byteLength;) {
    const len = Math.min(CHUNK, src.byteLength - done);
    const { bytesRead } = await src.shard.handle.read(buf, 0, len, src.at + done);
    if (bytesRead !== len) throw new BitstackError('FORMAT', `${src.shard.path}: short read at byte ${src.at + done + bytesRead}`);
    if (src.check === 'f16') {
      const h = new Uint16Array(buf.buffer, 0, len >> 1);
      for (let i = 0; i < h.length; i++) if ((h[i] & 0x7c00) === 0x7c00) formatError(`${src.name} has non-finite values (${src.shard.path})`);
    } else if (src.check === 'scale') {
      const f = new Float32Array(buf.buffer, 0, len >> 2);
      for (let i = 0; i < f.length; i++) if (!(f[i] > 0) || !Number.isFinite(f[i])) formatError(`${src.name} must be positive and finite (${src.shard.path})`);
    }
    let written = 0;
    while (written < len) written += (await out.write(buf, written, len - written, at + done + written)).bytesWritten;
    done += len;
  }
}

/** Byte-wise equality of two ranges, in chunks. */
async function sameBytes(a: FileRange, b: FileRange, bufA: Uint8Array, bufB: Uint8Array): Promise<boolean> {
  if (a.byteLength !== b.byteLength) return false;
  for (let done = 0; done < a.byteLength;) {
    const len = Math.min(CHUNK, a.byteLength - done);
    const [ra, rb] = await Promise.all([a.shard.handle.read(bufA, 0, len, a.at + done), b.shard.handle.read(bufB, 0, len, b.at + done)]);
    if (ra.bytesRead !== len || rb.bytesRead !== len) throw new BitstackError('FORMAT', `${ra.bytesRead !== len ? a.shard.path : b.shard.path}: short read`);
    if (Buffer.compare(bufA.subarray(0, len), bufB.subarray(0, len)) !== 0) return false;
    done += len;
  }
  return true;
}

/**
 * Merges the shard files at `paths` (any order) into `output`: the bytes an unsharded compress of
 * the same model and options writes. Typed errors for files that are not shards, shards of another
 * compress, a shard given twice or missing, a matrix in two shards, kept tensors that differ.
 */
export async function mergeShards(paths: string[], output: string): Promise<{ matrices: number; shards: number }> {
  const shards: OpenShard[] = [];
  try {
    let info: ShardInfo | null = null;
    const seen = new Map<number, string>();
    const matrices = new Map<string, StackLayoutMatrix<FileRange>>();
    const originals = new Map<string, Original>();
    let kept: Array<StackLayoutTensor<FileRange>> | null = null;
    const bufA = new Uint8Array(CHUNK), bufB = new Uint8Array(CHUNK);
    for (const path of paths) {
      const st = await stat(path).catch(() => { throw new BitstackError('ARG', `no such file: ${path}`); });
      if (!st.isFile()) throw new BitstackError('ARG', `${path} is not a regular file`);
      const shard: OpenShard = { path, handle: await open(path, 'r'), size: st.size };
      shards.push(shard);
      const { si, plans, kept: keptEntries, originals: orig, dataStart } = await readShard(shard);
      if (info && (si.count !== info.count || JSON.stringify(si.names) !== JSON.stringify(info.names))) throw new BitstackError('ARG', `${path} is a shard of another compress (${si.count} shards of ${si.names.length} matrices)`);
      if (seen.has(si.index)) throw new BitstackError('ARG', `${path} and ${seen.get(si.index)} are both shard ${si.index}`);
      info = si;
      seen.set(si.index, path);
      const names = new Set(si.names);
      const range = (e: SafetensorsEntry, check: Check): FileRange => ({ shard, at: dataStart + e.begin, byteLength: e.end - e.begin, check, name: e.name });
      const mine = keptEntries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, src: range(e, 'none') }));
      if (!kept) kept = mine;
      else {
        const differs = mine.length !== kept.length || mine.some((t, i) => t.name !== kept![i].name || t.dtype !== kept![i].dtype || t.shape.join() !== kept![i].shape.join());
        if (differs || !(await everySame(mine, kept, bufA, bufB))) throw new BitstackError('ARG', `${path} keeps other tensors than ${paths[0]}: shards of different models or options`);
      }
      for (const [name, plan] of plans) {
        if (!names.has(name)) throw new BitstackError('FORMAT', `${path}: ${JSON.stringify(name)} is not one of the compress's matrices`);
        if (matrices.has(name)) throw new BitstackError('FORMAT', `${name} is in two shards`);
        matrices.set(name, layoutOf(plan, range));
        const og = orig.get(name);
        if (og) originals.set(name, og);
      }
    }
    const missing = info!.names.filter((n) => !matrices.has(n));
    if (seen.size !== info!.count || missing.length) throw new BitstackError('ARG', `${info!.count} shards are needed, ${seen.size} given${missing.length ? ` (missing: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})` : ''}`);
    // Model order, as an unsharded compress has them; the default stack order over all of them.
    const ordered = Object.create(null) as Record<string, StackLayoutMatrix<FileRange>>;
    const orderedOriginals = Object.create(null) as Record<string, Original>;
    for (const n of info!.names) {
      ordered[n] = matrices.get(n)!;
      const og = originals.get(n);
      if (og) orderedOriginals[n] = og;
    }
    const order = defaultOrder(ordered, false, Object.create(null));
    const { tensors, metadata } = stackFileLayout(ordered, order, kept!, { originals: JSON.stringify(orderedOriginals) });
    const { header } = safetensorsHeader(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.src.byteLength })), metadata);
    await writeAtomically(output, async (out) => {
      let at = 0;
      while (at < header.length) at += (await out.write(header, at, header.length - at, at)).bytesWritten;
      for (const t of tensors) {
        await copyRange(t.src, out, at, bufA);
        at += t.src.byteLength;
      }
    });
    return { matrices: info!.names.length, shards: info!.count };
  } finally {
    await Promise.all(shards.map((s) => s.handle.close()));
  }
}

/** Whether two lists of kept tensors (same names, dtypes, shapes) hold the same bytes. */
async function everySame(a: Array<StackLayoutTensor<FileRange>>, b: Array<StackLayoutTensor<FileRange>>, bufA: Uint8Array, bufB: Uint8Array): Promise<boolean> {
  for (let i = 0; i < a.length; i++) if (!(await sameBytes(a[i].src, b[i].src, bufA, bufB))) return false;
  return true;
}
