// Node runner: the cases run in this vitest worker, through the package's `node` export.
import * as api from 'bitstack-wasm';
// @ts-expect-error plain ESM shared with the other runners
import { runSuite } from './harness.mjs';
import { defineRuntimeSuite } from './suite.js';

defineRuntimeSuite('node', () => runSuite(`node ${process.version}`, api), true);
