// A decomposition worker for browsers and Deno (a module Web Worker): see ops/many.ts.
import { init } from '../core.js';
import { serveDecompositions, type WorkerRequest } from '../ops/many.js';

const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void;
};
const serve = serveDecompositions((m, transfer) => scope.postMessage(m, transfer ?? []), init);
scope.addEventListener('message', (event) => serve(event.data));
