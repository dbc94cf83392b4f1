// Decomposition on a pool of worker threads (one wasm instance each). Matrices go out largest first
// to whichever worker is free; each result comes back as plain data and is restored in the caller's
// instance. Decomposition is deterministic, so the bytes do not depend on the number of workers.
import { Worker } from 'node:worker_threads';
import { BitstackError, type Bitstack, type DecomposeOptions, type StackedMatrix, type StackedMatrixData } from '../core.js';

export interface PoolTask { name: string; data: Float32Array; m: number; n: number; opts: DecomposeOptions }

/** Worker threads, started ahead of the work (they load the module while the model is read). */
export interface Pool { workers: Worker[]; ready: Array<Promise<void>> }

/** Starts `jobs` workers; each resolves its `ready` when its wasm instance is up. */
export function startPool(jobs: number): Pool {
  const workers = Array.from({ length: jobs }, () => new Worker(new URL('./worker.js', import.meta.url)));
  const ready = workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', (msg: { type: string }) => (msg.type === 'ready' ? resolve() : reject(new BitstackError('WASM', 'a worker did not start'))));
    w.once('error', reject);
  }));
  // Nobody may be waiting yet: a failed start is reported when the pool is used.
  for (const r of ready) r.catch(() => {});
  return { workers, ready };
}

/** Stops the pool's workers. */
export async function stopPool(pool: Pool): Promise<void> {
  await Promise.all(pool.workers.map((w) => w.terminate()));
}

/** Decomposes every task on the pool's workers (largest first, to whichever is free); calls onBlock(name, block) as blocks finish. */
export async function decomposeOnWorkers(bw: Bitstack, tasks: PoolTask[], pool: Pool, onBlock: (name: string, block: number) => void): Promise<Map<string, StackedMatrix>> {
  const queue = tasks.map((t, id) => ({ t, id })).sort((a, b) => b.t.m * b.t.n - a.t.m * a.t.n || a.id - b.id);
  const results = new Map<number, StackedMatrixData>();
  type Message = { type: string; id: number; block?: number; data?: StackedMatrixData; code?: string; message?: string };
  const drive = async (w: Worker, ready: Promise<void>) => {
    await ready;
    await new Promise<void>((resolve, reject) => {
      const next = () => {
        const item = queue.shift();
        if (!item) { done(); resolve(); return; }
        w.postMessage({ id: item.id, data: item.t.data, m: item.t.m, n: item.t.n, opts: item.t.opts });
      };
      const onMessage = (msg: Message) => {
        if (msg.type === 'progress') onBlock(tasks[msg.id].name, msg.block!);
        else if (msg.type === 'done') { results.set(msg.id, msg.data!); next(); } else { done(); reject(new BitstackError((msg.code as 'WASM') ?? 'WASM', `${tasks[msg.id].name}: ${msg.message}`)); }
      };
      const onExit = (code: number) => { done(); reject(new BitstackError('WASM', `a decomposition worker exited (code ${code})`)); };
      const done = () => { w.off('message', onMessage); w.off('error', reject); w.off('exit', onExit); };
      w.on('message', onMessage);
      w.on('error', reject);
      w.on('exit', onExit);
      next();
    });
  };
  await Promise.all(pool.workers.slice(0, queue.length).map((w, i) => drive(w, pool.ready[i])));
  const out = new Map<string, StackedMatrix>();
  tasks.forEach((t, id) => out.set(t.name, bw.restore(results.get(id)!)));
  return out;
}
