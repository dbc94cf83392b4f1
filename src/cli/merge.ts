// `bitstack-wasm merge`: the shard files of `compress --shard i/N` into the stack file an unsharded
// compress writes, byte for byte, streamed. Only the shards' headers are parsed (and checked); the
// global order comes from their metadata (each matrix's errors and norm); then every tensor is copied
// from its shard to the output in bounded reads. No block enters wasm memory and no file is held
// whole, so the merged stack may be larger than a wasm32 instance (4 GiB) or than this machine's RAM.

import { BitstackError } from '../core.js';
import { safetensorsHeader, type SafetensorsEntry } from '../formats/safetensors.js';
import { defaultOrder, stackFileLayout, type PlannedMatrix, type StackLayoutMatrix, type StackLayoutTensor } from '../ops/stack.js';
import { writeAtomically } from './atomic.js';
import { type Original } from './model.js';
import { CHUNK, copyRange, openStackHeader, sameBytes, writeAll, type Check, type FileRange, type StackHeader } from './stack-file.js';

/** What compress --shard writes into a shard's metadata: its index, the count, and every matrix of the whole compress in model order. */
export interface ShardInfo { index: number; count: number; names: string[] }

/** A shard's header and its shard information. */
async function readShard(path: string): Promise<{ header: StackHeader; si: ShardInfo }> {
  const header = await openStackHeader(path);
  let si: ShardInfo;
  try {
    try { si = JSON.parse(header.metadata.shard ?? 'null'); } catch { throw new BitstackError('FORMAT', `${path}: metadata "shard" is not JSON`); }
    if (!si || !Number.isInteger(si.count) || !(si.count >= 1) || !Number.isInteger(si.index) || !(si.index >= 0 && si.index < si.count) || !Array.isArray(si.names) || !si.names.every((n) => typeof n === 'string')) {
      throw new BitstackError('FORMAT', `${path} is not a shard file (compress --shard i/N writes them)`);
    }
  } catch (e) {
    await header.file.handle.close();
    throw e;
  }
  return { header, si };
}

/** A matrix of a shard's header, laid out from its file ranges. */
function layoutOf(sm: PlannedMatrix, range: (e: SafetensorsEntry, check: Check) => FileRange): StackLayoutMatrix<FileRange> {
  const plan = sm.plan, factors: Check = plan.factors === 'f16' ? 'f16' : 'none';
  return {
    ...sm,
    scaleBytes: () => (plan.scale ? range(plan.scale, 'scale') : null),
    blockParts: (i) => {
      const p = plan.blocks[i].parts;
      return {
        signs: range(p.qweight!, 'none'), a: range(p.u!, factors), b: range(p.vt!, factors),
        ...(p.u_scale ? { aScale: range(p.u_scale, 'f16'), bScale: range(p.vt_scale!, 'f16') } : {}),
      };
    },
  };
}

/**
 * Merges the shard files at `paths` (any order) into `output`: the bytes an unsharded compress of
 * the same model and options writes. Typed errors for files that are not shards, shards of another
 * compress, a shard given twice or missing, a matrix in two shards, kept tensors that differ.
 */
export async function mergeShards(paths: string[], output: string): Promise<{ matrices: number; shards: number }> {
  const opened: StackHeader[] = [];
  try {
    let info: ShardInfo | null = null;
    const seen = new Map<number, string>();
    const matrices = new Map<string, StackLayoutMatrix<FileRange>>();
    const originals = new Map<string, Original>();
    let kept: Array<StackLayoutTensor<FileRange>> | null = null;
    const bufA = new Uint8Array(CHUNK), bufB = new Uint8Array(CHUNK);
    for (const path of paths) {
      const { header: shard, si } = await readShard(path);
      opened.push(shard);
      if (info && (si.count !== info.count || JSON.stringify(si.names) !== JSON.stringify(info.names))) throw new BitstackError('ARG', `${path} is a shard of another compress (${si.count} shards of ${si.names.length} matrices)`);
      if (seen.has(si.index)) throw new BitstackError('ARG', `${path} and ${seen.get(si.index)} are both shard ${si.index}`);
      info = si;
      seen.set(si.index, path);
      const names = new Set(si.names);
      const mine = shard.kept.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, src: shard.range(e, 'none') }));
      if (!kept) kept = mine;
      else {
        const differs = mine.length !== kept.length || mine.some((t, i) => t.name !== kept![i].name || t.dtype !== kept![i].dtype || t.shape.join() !== kept![i].shape.join());
        if (differs || !(await everySame(mine, kept, bufA, bufB))) throw new BitstackError('ARG', `${path} keeps other tensors than ${paths[0]}: shards of different models or options`);
      }
      for (const [name, sm] of Object.entries(shard.budget.matrices)) {
        if (!names.has(name)) throw new BitstackError('FORMAT', `${path}: ${JSON.stringify(name)} is not one of the compress's matrices`);
        if (matrices.has(name)) throw new BitstackError('FORMAT', `${name} is in two shards`);
        matrices.set(name, layoutOf(sm, shard.range));
        const og = shard.originals.get(name);
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
      await writeAll(out, header, 0);
      let at = header.length;
      for (const t of tensors) {
        await copyRange(t.src, out, at, bufA);
        at += t.src.byteLength;
      }
    });
    return { matrices: info!.names.length, shards: info!.count };
  } finally {
    await Promise.all(opened.map((s) => s.file.handle.close()));
  }
}

/** Whether two lists of kept tensors (same names, dtypes, shapes) hold the same bytes. */
async function everySame(a: Array<StackLayoutTensor<FileRange>>, b: Array<StackLayoutTensor<FileRange>>, bufA: Uint8Array, bufB: Uint8Array): Promise<boolean> {
  for (let i = 0; i < a.length; i++) if (!(await sameBytes(a[i].src, b[i].src, bufA, bufB))) return false;
  return true;
}
