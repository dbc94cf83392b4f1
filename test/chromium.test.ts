// Chromium runner: Debian's chromium through playwright-core, page served on 127.0.0.1.
// @ts-expect-error plain ESM runner
import { runChromium } from './runners/chromium.mjs';
import { defineRuntimeSuite, type SuiteResult } from './suite.js';

defineRuntimeSuite('chromium', () => runChromium() as Promise<SuiteResult>);
