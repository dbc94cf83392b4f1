// Node entry: the default modules are read from the package's build/ folder.
// `wasm` may also be a file path, a file: URL or an http(s) URL.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createInit, type SourceLoader } from '../core.js';
import { Worker } from 'node:worker_threads';
import { directoryStore } from '../ops/cache-dir.js';
import type { WorkerHandle } from '../ops/many.js';
import type { ThreadHandle } from '../threads.js';

export * from '../core.js';

const loader: SourceLoader = {
  async defaultModule(build) {
    return readFile(build === 'relaxed'
      ? new URL('../kernels.relaxed.wasm', import.meta.url)
      : build === 'threads'
        ? new URL('../kernels.threads.wasm', import.meta.url)
        : new URL('../kernels.simd.wasm', import.meta.url));
  },
  async load(location) {
    const text = String(location);
    if (/^https?:/i.test(text)) return fetch(text);
    return readFile(text.startsWith('file:') ? new URL(text) : text);
  },
  // Node 20 has no Cache Storage: openStack({ cache: dir }) keeps ranges in that directory.
  cacheStore: directoryStore,
  spawnWorker(): WorkerHandle {
    // None of the parent's command line (--input-type, --eval… would break the worker); V8's flags,
    // such as Node 20's --experimental-wasm-relaxed-simd, are the process's and hold in workers too.
    const w = new Worker(new URL('../workers/decompose.node.js', import.meta.url), { execArgv: [] });
    let ended = false;
    return {
      post: (message, transfer) => w.postMessage(message, transfer),
      listen(onMessage, onError) {
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', (code) => { if (!ended) onError(new Error(`a decomposition worker exited (code ${code})`)); });
      },
      terminate() { ended = true; void w.terminate(); },
    };
  },
  cores: availableParallelism,
  spawnThread(): ThreadHandle {
    const w = new Worker(new URL('../workers/threads.node.js', import.meta.url), { execArgv: [] });
    return {
      post: (start) => w.postMessage(start),
      listen(onMessage, onError) {
        w.once('message', onMessage);
        w.once('error', onError);
      },
      // A thread waits for work in Atomics.wait: it must not keep the process alive.
      release: () => w.unref(),
      terminate() { void w.terminate(); },
    };
  },
};

export { directoryStore };

/** Instantiates the kernels: `await init()` for the default deterministic build. */
export const init = createInit(loader);
