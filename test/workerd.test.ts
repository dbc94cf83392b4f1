// workerd runner: miniflare's workerd runs test/runners/worker.mjs.
// @ts-expect-error plain ESM runner
import { runWorkerd } from './runners/workerd.mjs';
import { defineRuntimeSuite, type SuiteResult } from './suite.js';

defineRuntimeSuite('workerd', () => runWorkerd() as Promise<SuiteResult>);
