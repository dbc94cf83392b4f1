// A decomposition worker for Node (worker_threads): see ops/many.ts.
import { parentPort } from 'node:worker_threads';
import { init } from '../core.js';
import { serveDecompositions, type WorkerRequest } from '../ops/many.js';

const port = parentPort!;
const serve = serveDecompositions((m, transfer) => port.postMessage(m, transfer), init);
port.on('message', (req: WorkerRequest) => serve(req));
