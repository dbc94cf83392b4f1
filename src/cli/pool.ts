// Decomposition on a pool of worker threads (one wasm instance each). Matrices go out largest first
// to whichever worker is free; each result comes back as plain data and is restored in the caller's
// instance. Decomposition is deterministic, so the bytes do not depend on the number of workers.
import { Worker } from 'node:worker_threads';
import { BitstackError, type Bitstack, type DecomposeOptions, type StackedMatrix, type StackedMatrixData } from '../core.js';

export interface PoolTask { name: string; data: Float32Array; m: number; n: number; opts: DecomposeOptions }

/** Decomposes every task on `jobs` workers; calls onBlock(name, block) as blocks finish. */
export async function decomposeOnWorkers(bw: Bitstack, tasks: PoolTask[], jobs: number, onBlock: (name: string, block: number) => void): Promise<Map<string, StackedMatrix>> {
  const queue = tasks.map((t, id) => ({ ...t, id })).sort((a, b) => b.m * b.n - a.m * a.n || a.id - b.id);
  const results = new Map<number, StackedMatrixData>();
  const workers = Array.from({ length: Math.min(jobs, queue.length) }, () => new Worker(new URL('./worker.js', import.meta.url)));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      const next = () => {
        const t = queue.shift();
        if (!t) { resolve(); return; }
        const { name, ...rest } = t;
        void name;
        w.postMessage({ id: rest.id, data: rest.data, m: rest.m, n: rest.n, opts: rest.opts });
      };
      w.on('message', (msg: { type: string; id: number; block?: number; data?: StackedMatrixData; code?: string; message?: string }) => {
        if (msg.type === 'ready') next();
        else if (msg.type === 'progress') onBlock(tasks[msg.id].name, msg.block!);
        else if (msg.type === 'done') { results.set(msg.id, msg.data!); next(); } else reject(new BitstackError((msg.code as 'WASM') ?? 'WASM', `${tasks[msg.id].name}: ${msg.message}`));
      });
      w.on('error', reject);
      w.on('exit', (code) => { if (code !== 0) reject(new BitstackError('WASM', `a decomposition worker exited with code ${code}`)); });
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const out = new Map<string, StackedMatrix>();
  tasks.forEach((t, id) => out.set(t.name, bw.restore(results.get(id)!)));
  return out;
}
