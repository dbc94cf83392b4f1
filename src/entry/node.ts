// Node entry: the default modules are read from the package's build/ folder.
// `wasm` may also be a file path, a file: URL or an http(s) URL.

import { readFile } from 'node:fs/promises';
import { createInit, type SourceLoader } from '../core.js';
import { directoryStore } from '../ops/cache-dir.js';

export * from '../core.js';

const loader: SourceLoader = {
  async defaultModule(build) {
    return readFile(build === 'relaxed'
      ? new URL('../kernels.relaxed.wasm', import.meta.url)
      : new URL('../kernels.simd.wasm', import.meta.url));
  },
  async load(location) {
    const text = String(location);
    if (/^https?:/i.test(text)) return fetch(text);
    return readFile(text.startsWith('file:') ? new URL(text) : text);
  },
  // Node 20 has no Cache Storage: openStack({ cache: dir }) keeps ranges in that directory.
  cacheStore: directoryStore,
};

export { directoryStore };

/** Instantiates the kernels: `await init()` for the default deterministic build. */
export const init = createInit(loader);
