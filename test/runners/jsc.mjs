// JavaScriptCore (Safari's engine) runner: `jsc -m test/runners/jsc.mjs -- <repo root> [--json]`.
// The shell is a bare ECMAScript host: no URL, fetch, TextDecoder/TextEncoder, crypto,
// AbortController or ReadableStream. The library (bitstack-wasm/core, build/core.js) must run
// without them; only what the shared test cases themselves use is polyfilled here, and nothing
// the library feature-tests (TextDecoder, TextEncoder, Response, URL) is.

const root = (globalThis.arguments ?? [])[0];
if (!root) throw new Error('usage: jsc -m test/runners/jsc.mjs -- <repo root> [--json]');

// --- What the cases use (not the library) ----------------------------------
if (typeof globalThis.AbortController === 'undefined') {
  class Signal {
    aborted = false;
    reason = undefined;
  }
  globalThis.AbortController = class {
    signal = new Signal();
    abort(reason) { this.signal.aborted = true; this.signal.reason = reason; }
  };
  globalThis.AbortSignal = { abort(reason) { const s = new Signal(); s.aborted = true; s.reason = reason; return s; } };
}
if (typeof globalThis.ReadableStream === 'undefined') {
  // Enough for the streaming case: start() enqueues chunks and closes; a reader drains them.
  globalThis.ReadableStream = class {
    #chunks = [];
    constructor(source) {
      source.start({ enqueue: (c) => this.#chunks.push(c), close: () => {} });
    }
    getReader() {
      const chunks = this.#chunks;
      return {
        read: async () => (chunks.length ? { done: false, value: chunks.shift() } : { done: true, value: undefined }),
        releaseLock() {},
        cancel: async () => { chunks.length = 0; },
      };
    }
  };
}

const core = await import(`${root}/build/core.js`);
const { runSuite, formatSuite } = await import(`${root}/test/harness.mjs`);
const simd = read(`${root}/build/kernels.simd.wasm`, 'binary');
const relaxed = read(`${root}/build/kernels.relaxed.wasm`, 'binary');
// The package's modules as defaults; options that are not an object go through as they are (init must reject them).
const api = {
  ...core,
  init: (opts = {}) => (opts !== null && typeof opts === 'object' ? core.init({ wasm: simd, relaxedWasm: relaxed, ...opts }) : core.init(opts)),
};
const result = await runSuite('jsc (JavaScriptCore)', api);
print((globalThis.arguments ?? []).includes('--json') ? JSON.stringify(result) : formatSuite(result));
