// Browser and Deno entry: the default modules are fetched next to this file
// (bundlers recognise the `new URL('…', import.meta.url)` pattern and ship them).

import { createInit, type SourceLoader } from '../core.js';

export * from '../core.js';

const loader: SourceLoader = {
  async defaultModule(build) {
    return fetch(build === 'relaxed'
      ? new URL('../kernels.relaxed.wasm', import.meta.url)
      : new URL('../kernels.simd.wasm', import.meta.url));
  },
  async load(location) {
    return fetch(location);
  },
};

/** Instantiates the kernels: `await init()` for the default deterministic build. */
export const init = createInit(loader);
