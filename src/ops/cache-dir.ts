// The directory store of openStack's cache (Node): one file per key under `dir`, written to a
// temporary name and renamed, so a crash leaves either the old entry or the new one.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BitstackError } from '../errors.js';
import type { StackCacheStore } from './cache.js';

const KEY = /^[0-9a-f]{16}\/(meta|\d+-\d+)$/;
let serial = 0;

/** A directory as a cache store (created when first written). */
export function directoryStore(dir: string): StackCacheStore {
  const path = (key: string) => {
    if (!KEY.test(key)) throw new BitstackError('ARG', `cache key ${JSON.stringify(key)} is not one openStack writes`);
    return join(dir, ...key.split('/'));
  };
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(path(key)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async put(key, bytes) {
      const file = path(key);
      await mkdir(join(file, '..'), { recursive: true });
      const tmp = `${file}.${process.pid}.${serial++}.partial`;
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
    async delete(key) {
      await rm(path(key), { force: true });
    },
  };
}
