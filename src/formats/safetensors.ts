// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { … } }),
// then the tensor data (offsets relative to its start). Bytes in, bytes out:
// usable in every runtime. Everything read is validated; a bad file is a FORMAT
// error, never a crash or an unbounded allocation.

import { BitstackError } from '../errors.js';

export type SafetensorsDtype = 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'F16' | 'BF16' | 'U32' | 'I32' | 'F32' | 'U64' | 'I64' | 'F64';
const SIZES: Record<SafetensorsDtype, number> = { BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, F16: 2, BF16: 2, U32: 4, I32: 4, F32: 4, U64: 8, I64: 8, F64: 8 };
/** Bytes per element of a dtype. */
export const dtypeSize = (dtype: SafetensorsDtype): number => SIZES[dtype];
const isDtype = (d: unknown): d is SafetensorsDtype => typeof d === 'string' && Object.prototype.hasOwnProperty.call(SIZES, d);
/** Largest header accepted (the format's own reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range of the data, relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** Entries in data order. */
  tensors: SafetensorsEntry[];
  /** The data section (a view into the file's bytes). */
  data: Uint8Array;
}

const fail = (message: string): never => {
  throw new BitstackError('FORMAT', `safetensors: ${message}`);
};

// UTF-8 without TextDecoder/TextEncoder where a host has none (a bare ECMAScript host such as
// JavaScriptCore's shell): the same strict decoding as TextDecoder's fatal mode (no overlong
// forms, surrogates or code points above U+10FFFF).

/** Strict UTF-8 → string (TextDecoder's fatal mode where the host has it). */
export function decodeUtf8(bytes: Uint8Array): string {
  return typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : decodeUtf8Strict(bytes);
}

/** @internal Strict UTF-8 → string in plain JS; throws TypeError on malformed input, as TextDecoder({ fatal: true }) does. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  let out = '';
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3; // BOM, as TextDecoder drops it
  const units: number[] = [];
  for (let i = start; i < bytes.length;) {
    const b = bytes[i];
    let cp: number, need: number, lo = 0x80, hi = 0xbf;
    if (b < 0x80) { cp = b; need = 0; } else if (b >= 0xc2 && b <= 0xdf) { cp = b & 0x1f; need = 1; } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f; need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07; need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else throw new TypeError(`invalid UTF-8 byte ${b} at ${i}`);
    for (let j = 1; j <= need; j++) {
      const c = bytes[i + j];
      if (c === undefined || c < (j === 1 ? lo : 0x80) || c > (j === 1 ? hi : 0xbf)) throw new TypeError(`invalid UTF-8 sequence at ${i}`);
      cp = (cp << 6) | (c & 0x3f);
    }
    i += need + 1;
    if (cp > 0xffff) { cp -= 0x10000; units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); } else units.push(cp);
    if (units.length >= 4096) { out += String.fromCharCode(...units); units.length = 0; }
  }
  return out + String.fromCharCode(...units);
}

/** string → UTF-8 (TextEncoder where the host has it). */
export function encodeUtf8(text: string): Uint8Array {
  return typeof TextEncoder !== 'undefined' ? new TextEncoder().encode(text) : encodeUtf8Plain(text);
}

/** @internal string → UTF-8 in plain JS (lone surrogates become U+FFFD, as TextEncoder does). */
export function encodeUtf8Plain(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
    } else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Deepest nesting a header needs: { name: { shape: [ … ] } } is 3. */
const MAX_HEADER_DEPTH = 8;

/** Rejects (FORMAT) JSON with a duplicate key in any object, or nested deeper than `maxDepth`. */
function checkJsonStructure(text: string, maxDepth: number): void {
  const open: Array<Set<string> | null> = []; // per level: the keys seen (objects) or null (arrays)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      let k = j + 1;
      while (k < text.length && (text[k] === ' ' || text[k] === '\n' || text[k] === '\r' || text[k] === '\t')) k++;
      const keys = open[open.length - 1];
      if (text[k] === ':' && keys) {
        const raw = text.slice(i, j + 1);
        let key = raw.slice(1, -1);
        if (key.includes('\\')) {
          try { key = JSON.parse(raw); } catch { fail('header is not valid JSON (a bad escape in a key)'); }
        }
        if (keys.has(key)) fail(`header has the key ${JSON.stringify(key)} twice in one object`);
        keys.add(key);
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      open.push(c === 0x7b ? new Set() : null);
      if (open.length > maxDepth) fail(`header nests deeper than ${maxDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
    }
  }
}

/** Validates the 8-byte length and reads the header size; `total`: the file size. */
/** @internal */
export function headerLength(first8: Uint8Array, total: number): number {
  if (first8.length < 8) fail(`file of ${total} bytes has no header length`);
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER) fail(`header length ${n} exceeds ${MAX_HEADER}`);
  if (8 + n > total) fail(`header length ${n} runs past the end of a ${total}-byte file`);
  return n;
}

/** Parses and validates the JSON header against a data section of `dataLength` bytes. */
/** @internal */
export function parseHeader(headerBytes: Uint8Array, dataLength: number): { metadata: Record<string, string>; tensors: SafetensorsEntry[] } {
  let header: unknown;
  let text: string;
  try {
    text = decodeUtf8(headerBytes);
  } catch (e) {
    return fail(`header is not valid UTF-8 (${(e as Error).message})`);
  }
  // JSON.parse keeps the last of duplicate keys and may exhaust the stack on deep nesting: both are
  // FORMAT errors, found by one linear scan first.
  checkJsonStructure(text, MAX_HEADER_DEPTH);
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`${name}: not an object`);
    if (!isDtype(t.dtype)) fail(`${name}: unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${name}: bad shape`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${name}: bad data_offsets`);
    const [begin, end] = off as number[];
    const dtype = t.dtype as SafetensorsDtype;
    const count = (t.shape as number[]).reduce((p, d) => p * d, 1);
    if (begin > end || end > dataLength) fail(`${name}: byte range ${begin}..${end} outside the ${dataLength}-byte data section`);
    if (end - begin !== count * SIZES[dtype]) fail(`${name}: ${end - begin} bytes for shape [${t.shape}] of ${dtype}`);
    tensors.push({ name, dtype, shape: (t.shape as number[]).slice(), begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < tensors.length; i++) {
    if (tensors[i].begin < tensors[i - 1].end) fail(`${tensors[i - 1].name} and ${tensors[i].name} overlap`);
  }
  return { metadata, tensors };
}

/** Parses and validates a whole safetensors file held in memory. */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new BitstackError('ARG', 'safetensors bytes must be a Uint8Array');
  const n = headerLength(bytes.subarray(0, 8), bytes.length);
  const data = bytes.subarray(8 + n);
  return { ...parseHeader(bytes.subarray(8, 8 + n), data.length), data };
}

/** A safetensors file read piece by piece: the header, then one tensor at a time. */
export interface SafetensorsReader {
  metadata: Record<string, string>;
  tensors: SafetensorsEntry[];
  /** Where the data section starts: a tensor's bytes are [dataStart + begin, dataStart + end) of the file. */
  dataStart: number;
  /** The bytes of one tensor (read on demand). */
  read(entry: SafetensorsEntry): Promise<Uint8Array>;
}

/**
 * Opens a safetensors file through positioned reads (a file handle, HTTP Range requests…),
 * so that no more than the header and one tensor are held at once.
 * `readAt(offset, length)` returns exactly those bytes; `size` is the file's length.
 */
export async function openSafetensors(readAt: (offset: number, length: number) => Promise<Uint8Array>, size: number): Promise<SafetensorsReader> {
  const n = headerLength(await readAt(0, Math.min(8, size)), size);
  const dataStart = 8 + n;
  const { metadata, tensors } = parseHeader(await readAt(8, n), size - dataStart);
  return { metadata, tensors, dataStart, read: (e) => readAt(dataStart + e.begin, e.end - e.begin) };
}

/**
 * Reads a safetensors stream (a fetch Response body) front to back, yielding each tensor as
 * its bytes arrive, in file order: only the header and the current tensor are held.
 */
export async function* streamSafetensors(body: ReadableStream<Uint8Array> | Response): AsyncGenerator<{ entry: SafetensorsEntry; bytes: Uint8Array; metadata: Record<string, string> }> {
  const stream = typeof Response !== 'undefined' && body instanceof Response ? body.body : body as ReadableStream<Uint8Array>;
  if (!stream) fail('the response has no body');
  const reader = stream!.getReader();
  let buffered: Uint8Array[] = [];
  let have = 0, done = false;
  /** The next `len` bytes of the stream (fewer only at its end). */
  const take = async (len: number): Promise<Uint8Array> => {
    while (have < len && !done) {
      const r = await reader.read();
      if (r.done) done = true;
      else { buffered.push(r.value); have += r.value.length; }
    }
    const out = new Uint8Array(Math.min(len, have));
    let at = 0;
    while (at < out.length) {
      const head = buffered[0];
      const k = Math.min(head.length, out.length - at);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) buffered.shift(); else buffered[0] = head.subarray(k);
    }
    have -= out.length;
    return out;
  };
  try {
    const first = await take(8);
    if (first.length < 8) fail('stream ended before the header length');
    const n = Number(new DataView(first.buffer).getBigUint64(0, true));
    if (n > MAX_HEADER) fail(`header length ${n} exceeds ${MAX_HEADER}`);
    const headerBytes = await take(n);
    if (headerBytes.length < n) fail('stream ended inside the header');
    // The data length is unknown until the end: check ranges against the largest end claimed, then while reading.
    const { metadata, tensors } = parseHeader(headerBytes, Number.MAX_SAFE_INTEGER);
    let pos = 0;
    for (const entry of tensors) {
      if (entry.begin > pos) { const skip = await take(entry.begin - pos); if (skip.length < entry.begin - pos) fail('stream ended early'); pos = entry.begin; }
      const bytes = await take(entry.end - entry.begin);
      if (bytes.length < entry.end - entry.begin) fail(`stream ended inside ${entry.name}`);
      pos = entry.end;
      yield { entry, bytes, metadata };
    }
  } finally {
    reader.releaseLock();
    buffered = [];
  }
}

/** Bytes of one tensor's data. */
export function tensorBytes(file: SafetensorsFile, entry: SafetensorsEntry): Uint8Array {
  return file.data.subarray(entry.begin, entry.end);
}

/** A tensor as a safetensors header lists it: its data's length in bytes, the data itself elsewhere. */
export interface SafetensorsLayoutEntry { name: string; dtype: SafetensorsDtype; shape: number[]; byteLength: number }

/**
 * The first bytes of a safetensors file whose tensors' data follow in the order given: the 8-byte
 * header length and the JSON header, padded with spaces to 8 bytes. `dataLength`: the bytes of data
 * that must follow. writeSafetensors is this header and the data; a writer that streams the data
 * (`bitstack-wasm merge`) writes the same bytes.
 */
export function safetensorsHeader(tensors: SafetensorsLayoutEntry[], metadata: Record<string, string> = {}): { header: Uint8Array; dataLength: number } {
  // No prototype: names such as __proto__ or constructor are ordinary keys.
  const header = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (!isDtype(t.dtype)) throw new BitstackError('ARG', `${t.name}: unsupported dtype ${String(t.dtype)}`);
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (t.byteLength !== count * SIZES[t.dtype]) throw new BitstackError('ARG', `${t.name}: ${t.byteLength} bytes for shape [${t.shape}] of ${t.dtype}`);
    if (t.name === '__metadata__' || Object.prototype.hasOwnProperty.call(header, t.name)) throw new BitstackError('ARG', `duplicate or reserved tensor name ${t.name}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = encodeUtf8(JSON.stringify(header));
  // Pad the header with spaces to 8 bytes, so the data section is aligned.
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  return { header: out, dataLength: offset };
}

/** Writes a safetensors file; tensors' data are laid out in the order given. */
export function writeSafetensors(
  tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const { header, dataLength } = safetensorsHeader(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes.length })), metadata);
  const out = new Uint8Array(header.length + dataLength);
  out.set(header);
  let at = header.length;
  for (const t of tensors) { out.set(t.bytes, at); at += t.bytes.length; }
  return out;
}
