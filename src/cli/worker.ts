// A decomposition worker (Node worker_threads): its own wasm instance; receives one matrix at a
// time, sends progress and the result as plain data (StackedMatrix.export), buffers transferred.
import { parentPort } from 'node:worker_threads';
import { init } from '../entry/node.js';
import { BitstackError, type DecomposeOptions } from '../core.js';

export interface Task { id: number; data: Float32Array; m: number; n: number; opts: DecomposeOptions }

const port = parentPort!;
const bw = await init();
port.on('message', (task: Task) => {
  try {
    const sm = bw.decompose(task.data, task.m, task.n, {
      ...task.opts,
      onProgress: (p) => port.postMessage({ type: 'progress', id: task.id, block: p.block }),
    });
    const data = sm.export();
    sm.free();
    const buffers = data.blocks.flatMap((b) => [b.signs.buffer, b.a.buffer, b.b.buffer, ...(b.aScale ? [b.aScale.buffer, b.bScale!.buffer] : [])]);
    port.postMessage({ type: 'done', id: task.id, data }, buffers as ArrayBuffer[]);
  } catch (e) {
    port.postMessage({ type: 'error', id: task.id, code: e instanceof BitstackError ? e.code : 'WASM', message: (e as Error)?.message ?? String(e) });
  }
});
port.postMessage({ type: 'ready' });
