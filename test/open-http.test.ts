// openStack against a local server that misbehaves on purpose, in Node, Deno, Chromium and workerd
// (test/http/open-http.mjs runs in each; the server runs here): Range and streamed loading, budgets,
// bad Content-Range, short reads, a file changing mid-way, 404/500 mid-way, abort, offline, and the
// cache (offline reopen, resumption, a changed file discarded).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Miniflare } from 'miniflare';
import { init } from 'bitstack-wasm';
// @ts-expect-error plain ESM shared with the other runtimes
import { startStackServer } from './http/stack-server.mjs';
// @ts-expect-error plain ESM shared with the other runtimes
import { runOpenHttp } from './http/open-http.mjs';
// @ts-expect-error plain ESM
import { serve } from './runners/serve.mjs';
// @ts-expect-error plain ESM
import { CHROMIUM_PATH, CHROMIUM_ARGS } from './runners/chromium.mjs';

type Check = { name: string; ok: boolean; error?: string };
const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
let server: { base: string; reset(): void; close(): Promise<void> };

beforeAll(async () => {
  server = await startStackServer(await init());
});
afterAll(() => server.close());

function expectAll(runtime: string, results: Check[]) {
  const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);
  expect(failed, runtime).toEqual([]);
  expect(results.length, runtime).toBe(12);
}

describe('openStack over HTTP against a misbehaving server', () => {
  it('Node (cache: a directory)', async () => {
    server.reset();
    const dir = await mkdtemp(join(tmpdir(), 'bitstack-cache-'));
    try {
      expectAll('node', await runOpenHttp({ bw: await init(), base: server.base, cache: dir }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Deno (cache: Cache Storage)', async () => {
    server.reset();
    const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
    const { stdout } = await promisify(execFile)(deno, ['run', '-A', '--no-prompt', fileURLToPath(new URL('./runners/open-http-deno.mjs', import.meta.url)), server.base], {
      maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    });
    expectAll('deno', JSON.parse(stdout));
  }, 120_000);

  it('Chromium (cache: Cache Storage; the page on another origin: CORS)', async () => {
    server.reset();
    const pages = await serve(ROOT);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${pages.url}/test/runners/blank.html`);
      // A string, not a function: vitest would rewrite a function's import().
      const results = await page.evaluate(`(async () => {
        const api = await import('/build/entry/web.js');
        const { runOpenHttp } = await import('/test/http/open-http.mjs');
        return runOpenHttp({ bw: await api.init(), base: ${JSON.stringify(server.base)}, cache: 'bitstack-open-test' });
      })()`) as Check[];
      await page.close();
      expectAll('chromium', results);
    } finally {
      await browser.close();
      await pages.close();
    }
  }, 120_000);

  it('workerd (cache: Cache Storage)', async () => {
    server.reset();
    const mf = new Miniflare({
      modules: true,
      scriptPath: fileURLToPath(new URL('./runners/open-http-worker.mjs', import.meta.url)),
      modulesRoot: ROOT,
      compatibilityDate: '2025-01-01',
      bindings: { BASE: server.base },
      modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    });
    try {
      const res = await mf.dispatchFetch('http://localhost/');
      expectAll('workerd', await res.json() as Check[]);
    } finally {
      await mf.dispose();
    }
  }, 120_000);
});
