// Deno runner: the npm `deno` package's binary runs test/runners/deno.mjs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { defineRuntimeSuite, type SuiteResult } from './suite.js';

const run = promisify(execFile);
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const script = fileURLToPath(new URL('./runners/deno.mjs', import.meta.url));

defineRuntimeSuite('deno', async () => {
  const { stdout } = await run(deno, ['run', '-A', '--no-prompt', script, '--json'], {
    maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  return JSON.parse(stdout) as SuiteResult;
}, true);
