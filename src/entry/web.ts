// Browser and Deno entry: the default modules are fetched next to this file
// (bundlers recognise the `new URL('…', import.meta.url)` pattern and ship them).

import { createInit, type SourceLoader } from '../core.js';
import type { WorkerHandle } from '../ops/many.js';
import type { ThreadHandle } from '../threads.js';

// The host's Web Worker (browsers, Deno), typed here: the package's types do not need the DOM lib.
interface WebWorker {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}
declare const Worker: { new (url: URL, options: { type: 'module' }): WebWorker } | undefined;

export * from '../core.js';

/** A Web Worker as the pools see it (decomposeMany's workers, the threads build's threads). */
function handle(w: WebWorker, what: string) {
  return {
    post: (message: unknown, transfer?: ArrayBuffer[]) => w.postMessage(message, transfer ?? []),
    listen(onMessage: (message: never) => void, onError: (error: unknown) => void) {
      w.addEventListener('message', (e) => onMessage(e.data as never));
      w.addEventListener('error', (e) => onError(new Error(e.message ?? `${what} failed`)));
      w.addEventListener('messageerror', () => onError(new Error(`a message to ${what} could not be read`)));
    },
    terminate: () => w.terminate(),
  };
}

const loader: SourceLoader = {
  async defaultModule(build) {
    return fetch(build === 'relaxed'
      ? new URL('../kernels.relaxed.wasm', import.meta.url)
      : build === 'threads'
        ? new URL('../kernels.threads.wasm', import.meta.url)
        : new URL('../kernels.simd.wasm', import.meta.url));
  },
  async load(location) {
    return fetch(location);
  },
  // (Written as `new Worker(new URL('…', import.meta.url), { type: 'module' })`: bundlers ship the workers.)
  spawnWorker: typeof Worker === 'function'
    ? (): WorkerHandle => handle(new Worker(new URL('../workers/decompose.web.js', import.meta.url), { type: 'module' }), 'a decomposition worker')
    : undefined,
  spawnThread: typeof Worker === 'function'
    ? (): ThreadHandle => handle(new Worker(new URL('../workers/threads.web.js', import.meta.url), { type: 'module' }), 'a kernels thread')
    : undefined,
};

/** Instantiates the kernels: `await init()` for the default deterministic build. */
export const init = createInit(loader);
