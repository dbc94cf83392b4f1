// A kernels thread for browsers and Deno (a module Web Worker): see src/threads.ts.
import { serveThread, type ThreadStart } from '../threads.js';

const scope = globalThis as unknown as {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: ThreadStart }) => void, options: { once: boolean }): void;
};
scope.addEventListener('message', (event) => { void serveThread(event.data, (m) => scope.postMessage(m)); }, { once: true });
