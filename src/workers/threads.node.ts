// A kernels thread for Node (worker_threads): see src/threads.ts.
import { parentPort } from 'node:worker_threads';
import { serveThread, type ThreadStart } from '../threads.js';

const port = parentPort!;
port.once('message', (start: ThreadStart) => { void serveThread(start, (m) => port.postMessage(m)); });
