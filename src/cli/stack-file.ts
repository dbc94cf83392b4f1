// Stack files read by their header (Node): the budget arithmetic without reading a block, and
// tensors copied or read by byte range, so that `info`, `extract` and `merge` work on files of any
// size — larger than a wasm32 instance (4 GiB) or than RAM — holding a few chunks at a time.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { BitstackError } from '../core.js';
import { openSafetensors, type SafetensorsEntry } from '../formats/safetensors.js';
import { isBlockTensor, stackBudgetOf, type PlannedMatrix, type StackBudget } from '../ops/stack.js';
import { originalsOf, readRange, type Original } from './model.js';

/** A file open for positioned reads. */
export interface OpenFile { path: string; handle: FileHandle; size: number }

/** How a tensor's bytes are checked while they are copied (as readStack checks them). */
export type Check = 'none' | 'f16' | 'scale';

/** A tensor's bytes in a file: `byteLength` bytes from `at` (absolute). */
export interface FileRange { file: OpenFile; at: number; byteLength: number; check: Check; name: string }

/** Bytes read and written at once: a copy holds no more than this. */
export const CHUNK = 16 * 2 ** 20;

const formatError = (message: string): never => { throw new BitstackError('FORMAT', `bitstack file: ${message}`); };

/** A stack file's header: budgets in its order, kept tensors (as ranges), what each matrix was. Close `file.handle` when done. */
export interface StackHeader {
  file: OpenFile;
  metadata: Record<string, string>;
  budget: StackBudget<PlannedMatrix>;
  kept: SafetensorsEntry[];
  originals: Map<string, Original>;
  /** A tensor of this file as a range (checked as `check` says when copied). */
  range(e: SafetensorsEntry, check: Check): FileRange;
}

/** Opens a stack file and reads its header only (bounded: the header's declared length, checked against the file). */
export async function openStackHeader(path: string): Promise<StackHeader> {
  const info = await stat(path).catch(() => { throw new BitstackError('ARG', `no such file: ${path}`); });
  if (!info.isFile()) throw new BitstackError('ARG', `${path} is not a regular file`);
  const file: OpenFile = { path, handle: await open(path, 'r'), size: info.size };
  try {
    const reader = await openSafetensors((offset, length) => readRange(file.handle, path, offset, length), info.size);
    const budget = stackBudgetOf(reader.tensors, reader.metadata);
    const names = new Set(Object.keys(budget.matrices));
    const kept = reader.tensors.filter((t) => !isBlockTensor(t.name, names));
    const originals = originalsOf(path, reader.metadata, (name) => (names.has(name) ? budget.matrices[name].rows * budget.matrices[name].cols : undefined));
    const range = (e: SafetensorsEntry, check: Check): FileRange => ({ file, at: reader.dataStart + e.begin, byteLength: e.end - e.begin, check, name: e.name });
    return { file, metadata: reader.metadata, budget, kept, originals, range };
  } catch (e) {
    await file.handle.close();
    throw e;
  }
}

/** Reads `len` bytes at `at` of a file into `buf` (from its start); a short read is a FORMAT error. */
async function readExactly(file: OpenFile, buf: Uint8Array, len: number, at: number): Promise<void> {
  const { bytesRead } = await file.handle.read(buf, 0, len, at);
  if (bytesRead !== len) throw new BitstackError('FORMAT', `${file.path}: short read at byte ${at + bytesRead}`);
}

/** Checks a chunk of a tensor's bytes as `check` says. */
function checkChunk(src: FileRange, buf: Uint8Array, len: number): void {
  if (src.check === 'f16') {
    const h = new Uint16Array(buf.buffer, buf.byteOffset, len >> 1);
    for (let i = 0; i < h.length; i++) if ((h[i] & 0x7c00) === 0x7c00) formatError(`${src.name} has non-finite values (${src.file.path})`);
  } else if (src.check === 'scale') {
    const f = new Float32Array(buf.buffer, buf.byteOffset, len >> 2);
    for (let i = 0; i < f.length; i++) if (!(f[i] > 0) || !Number.isFinite(f[i])) formatError(`${src.name} must be positive and finite (${src.file.path})`);
  }
}

/** Writes all of `bytes` at `at` of `out`. */
export async function writeAll(out: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  for (let done = 0; done < bytes.length;) done += (await out.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
}

/** Copies a tensor from its file into `out` at `at`, in chunks through `buf` (CHUNK bytes, 8-aligned), checking its values. */
export async function copyRange(src: FileRange, out: FileHandle, at: number, buf: Uint8Array): Promise<void> {
  for (let done = 0; done < src.byteLength;) {
    const len = Math.min(CHUNK, src.byteLength - done);
    await readExactly(src.file, buf, len, src.at + done);
    checkChunk(src, buf, len);
    await writeAll(out, buf.subarray(0, len), at + done);
    done += len;
  }
}

/** A tensor's bytes, read whole (a block part: small) and checked. */
export async function readWhole(src: FileRange): Promise<Uint8Array> {
  const buf = new Uint8Array(src.byteLength);
  await readExactly(src.file, buf, src.byteLength, src.at);
  checkChunk(src, buf, src.byteLength);
  return buf;
}

/** Byte-wise equality of two ranges, in chunks. */
export async function sameBytes(a: FileRange, b: FileRange, bufA: Uint8Array, bufB: Uint8Array): Promise<boolean> {
  if (a.byteLength !== b.byteLength) return false;
  for (let done = 0; done < a.byteLength;) {
    const len = Math.min(CHUNK, a.byteLength - done);
    await Promise.all([readExactly(a.file, bufA, len, a.at + done), readExactly(b.file, bufB, len, b.at + done)]);
    if (Buffer.compare(bufA.subarray(0, len), bufB.subarray(0, len)) !== 0) return false;
    done += len;
  }
  return true;
}
