// JavaScriptCore runner (Safari's engine, our iOS check): Debian's `jsc` shell runs
// test/runners/jsc.mjs on bitstack-wasm/core in a bare ECMAScript host. `.ci/run` installs
// it (libjavascriptcoregtk-4.0-bin); without it these tests report themselves skipped.
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { defineRuntimeSuite, type SuiteResult } from './suite.js';

const run = promisify(execFile);
const JSC = '/usr/bin/jsc';
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

if (existsSync(JSC)) {
  defineRuntimeSuite('jsc', async () => {
    const { stdout } = await run(JSC, ['-m', `${root}/test/runners/jsc.mjs`, '--', root, '--json'], { maxBuffer: 64 << 20 });
    return JSON.parse(stdout) as SuiteResult;
  });
} else {
  describe('jsc', () => {
    it.skip('JavaScriptCore is not installed (apt-get install -y libjavascriptcoregtk-4.0-bin): SKIPPED', () => {});
  });
}
