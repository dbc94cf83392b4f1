// Chromium runner: Debian's /usr/bin/chromium driven by playwright-core (no browser download).
// `node test/runners/chromium.mjs [--json]`
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { formatSuite } from '../harness.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic',
];

/**
 * The suite in a cross-origin isolated page (COOP/COEP: the threads build runs), then, in a page
 * served without those headers, what init({ threads: 2 }) gives there (`plainPage`: one thread).
 */
export async function runChromium() {
  const server = await serve(ROOT, { isolated: true });
  const plain = await serve(ROOT);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/test/runners/chromium.html`);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 300_000 });
    const result = await page.evaluate(() => window.__result);
    if (result.error || errors.length) throw new Error(`page failed: ${result.error ?? errors.join('\n')}`);
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    const other = await browser.newPage();
    await other.goto(`${plain.url}/test/runners/blank.html`);
    // (A string: vitest would rewrite an import() inside a function.)
    result.plainPage = await other.evaluate(`(async () => {
      const { init } = await import('/build/entry/web.js');
      const bw = await init({ threads: 2 });
      return { isolated: crossOriginIsolated, threads: bw.features.threads };
    })()`);
    return result;
  } finally {
    await browser.close();
    await server.close();
    await plain.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runChromium();
  console.log(process.argv.includes('--json') ? JSON.stringify(result) : formatSuite(result));
}
