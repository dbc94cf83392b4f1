// Where openStack keeps the byte ranges it fetched, so that a second open works offline and resumes
// where the first stopped. A store maps short keys (hex and digits only: safe as file names and in
// URLs) to bytes. Two stores ship: Cache Storage (browsers, Deno, workerd) and a directory (Node,
// from the node entry); any object with get/put/delete is a store too (IndexedDB, KV, …).

import { BitstackError } from '../errors.js';

/** A key → bytes store for cached ranges of stack files. Keys match /^[0-9a-f]+(\/[0-9a-z.-]+)?$/. */
export interface StackCacheStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A cache name (Cache Storage; a directory in Node) or a store. */
export type StackCache = string | StackCacheStore;

// Requests of Cache Storage need an http(s) URL; this host is reserved (RFC 6761) and never fetched.
const CACHE_ORIGIN = 'https://bitstack-wasm.invalid/';

/** The Cache Storage cache `name` as a store (browsers, Deno, workerd). */
export function cacheStorageStore(name: string): StackCacheStore {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage || typeof storage.open !== 'function') {
    throw new BitstackError('UNSUPPORTED', `opts.cache ${JSON.stringify(name)}: this host has no Cache Storage (pass a store: { get, put, delete })`);
  }
  let opened: Promise<Cache> | undefined;
  const cache = () => (opened ??= storage.open(name));
  return {
    async get(key) {
      const res = await (await cache()).match(CACHE_ORIGIN + key);
      return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
    },
    async put(key, bytes) {
      // workerd's cache keeps only what says it may be kept.
      await (await cache()).put(CACHE_ORIGIN + key, new Response(bytes.slice(), {
        headers: { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' },
      }));
    },
    async delete(key) {
      await (await cache()).delete(CACHE_ORIGIN + key);
    },
  };
}

/** 64-bit FNV-1a of bytes, as 16 hex digits (names cache entries; detects a changed header). */
export function fnv1a64(bytes: Uint8Array): string {
  let h0 = 0x84222325, h1 = 0xcbf29ce4; // low, high 32 bits of the offset basis
  for (let i = 0; i < bytes.length; i++) {
    h0 = (h0 ^ bytes[i]) >>> 0;
    // (h1:h0) *= 0x100000001b3 (mod 2^64): the low 32 bits times 0x1b3, plus h0 << 40.
    const lo = h0 * 0x1b3;
    const carry = Math.floor(lo / 0x100000000);
    const hi = (h1 * 0x1b3 + (h0 << 8) + carry) >>> 0;
    h0 = lo >>> 0;
    h1 = hi;
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h0 >>> 0).toString(16).padStart(8, '0');
}

/** What a cache holds about one file: where it came from, how to tell it changed, which ranges it has. */
export interface CacheMeta {
  version: 1;
  source: string;
  size: number | null;
  etag: string | null;
  header: string;            // fnv1a64 of the file's first 8 + header-length bytes
  ranges: Array<[number, number]>; // [offset, length], each stored under `${prefix}/${offset}-${length}`
}

export function parseMeta(bytes: Uint8Array | undefined, source: string): CacheMeta | null {
  if (!bytes || bytes.length > 1 << 24) return null;
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as CacheMeta;
    const ok = m && m.version === 1 && m.source === source && typeof m.header === 'string'
      && (m.size === null || Number.isSafeInteger(m.size)) && (m.etag === null || typeof m.etag === 'string')
      && Array.isArray(m.ranges) && m.ranges.every((r) => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && r[0] >= 0 && Number.isSafeInteger(r[1]) && r[1] > 0);
    return ok ? m : null;
  } catch {
    return null; // an unreadable meta entry: start over
  }
}
