// Chromium runner: Debian's chromium through playwright-core, page served on 127.0.0.1 with COOP/COEP
// (cross-origin isolated: the threads build runs there too).
import { it, expect } from 'vitest';
// @ts-expect-error plain ESM runner
import { runChromium } from './runners/chromium.mjs';
import { defineRuntimeSuite, type SuiteResult } from './suite.js';

let result: Promise<SuiteResult & { isolated: boolean; plainPage: { isolated: boolean; threads: number } }>;
defineRuntimeSuite('chromium', () => (result = runChromium()), true);

it('the suite page is cross-origin isolated; a page without COOP/COEP falls back to one thread', async () => {
  const r = await result;
  expect(r.isolated).toBe(true);
  expect(r.plainPage).toEqual({ isolated: false, threads: 1 });
});
