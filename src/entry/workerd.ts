// Cloudflare workerd entry. workerd refuses to compile wasm from bytes at run
// time, so both builds are imported as modules (compiled at deploy time).

import simd from '../kernels.simd.wasm';
import relaxed from '../kernels.relaxed.wasm';
import { BitstackError } from '../errors.js';
import { createInit, type SourceLoader } from '../core.js';

export * from '../core.js';

const loader: SourceLoader = {
  async defaultModule(build) {
    return build === 'relaxed' ? relaxed : simd;
  },
  async load(location) {
    throw new BitstackError('UNSUPPORTED',
      `workerd cannot compile wasm fetched at run time (${String(location)}): import the .wasm as a module and pass the WebAssembly.Module`);
  },
};

/** Instantiates the kernels: `await init()` for the default deterministic build. */
export const init = createInit(loader);
