// examples/offline-app, built with Vite and run in Debian's Chromium (Playwright) at a phone's
// viewport, served over a link throttled to 10 Mbit/s: the first results come while the stack file
// is still arriving (206 responses), the model visibly refines, and after going offline a reload
// works from the caches (the service worker's shell, openStack's ranges). Screenshots are saved.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error plain ESM
import { serveStatic } from './http/static-server.mjs';
// @ts-expect-error plain ESM
import { CHROMIUM_PATH, CHROMIUM_ARGS } from './runners/chromium.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'build', 'examples', 'offline-app');
const results = join(root, 'build', 'test-results');
const LINK = 10e6 / 8; // 10 Mbit/s in bytes per second
const BITS = 3;
type Server = { url: string; log: Array<{ path: string; status: number; range?: string; bytes: number; at: number }>; close(): Promise<void> };
type App = { longestTaskMs: number | null; resultsVersion?: number; firstResults: { ms: number; bytes: number; fromCache: number } | null; lastResults?: Array<{ text: string; score: number }>; models: Array<{ version: number; blocks: number; blocksPlanned: number; quality: number; at: number; fromCache: number }>; errors: string[]; plan: { bytesPlanned: number; fileBytes: number; threads: number } | null; serviceWorker?: string };

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
let server: Server;
let chromiumFinal: Array<{ text: string; score: number }> | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const figures: Record<string, unknown> = {};
const app = () => page.evaluate(() => (window as unknown as { __app: App }).__app);
/** In the page: every planned block is in the model, and the results shown are that model's. */
const FINAL = `(() => { const a = window.__app; const m = a && a.models.at(-1); return !!(a && a.firstResults && m && m.blocks === m.blocksPlanned && a.resultsVersion === m.version); })()`;

beforeAll(async () => {
  const { build } = await import('vite');
  await build({ configFile: join(root, 'examples', 'offline-app', 'vite.config.mjs'), logLevel: 'warn' });
  server = await serveStatic(dist, { throttle: (p: string) => p.endsWith('.safetensors'), bytesPerSecond: LINK });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  page = await context.newPage();
  page.on('console', (m) => { if (process.env.APP_DEBUG) console.log('page:', m.text()); });
  await mkdir(results, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await writeFile(join(results, 'offline-app.json'), JSON.stringify(figures, null, 1));
  console.log('offline app figures:', JSON.stringify(figures));
});

describe('examples/offline-app in Chromium at 375×667', () => {
  it('first results before the stack file is fetched, over 206 responses; then it refines', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/?bits=${BITS}`);
    await page.waitForFunction(() => (window as unknown as { __app: App }).__app.firstResults !== null, null, { timeout: 120_000 });
    const first = (await app()).firstResults!;
    const fileBytes = (await stat(join(dist, 'model.bitstack.safetensors'))).size;
    const stackRequests = server.log.filter((r) => r.path.endsWith('.safetensors'));
    expect(stackRequests.length).toBeGreaterThan(1);
    expect(stackRequests.every((r) => r.status === 206)).toBe(true);
    expect(first.bytes).toBeLessThan(fileBytes / 4);
    expect(await page.locator('#results li').count()).toBe(5);
    await page.screenshot({ path: join(results, 'offline-app-first-results.png') });
    // Refined until every planned block is in.
    await page.waitForFunction(FINAL, null, { timeout: 120_000 });
    const done = await app();
    expect(done.models.length).toBeGreaterThan(1);
    expect(done.models.at(-1)!.quality).toBeGreaterThan(done.models[0].quality);
    // The last model is the budget's: its probe cosine is the one precomputed in Node (tfjs wasm in both).
    const quality = JSON.parse(await readFile(join(dist, 'quality.json'), 'utf8'));
    expect(done.models.at(-1)!.quality).toBeCloseTo(quality.budgets.find((b: { bits: number }) => b.bits === BITS).cosine, 3);
    const fetched = server.log.filter((r) => r.path.endsWith('.safetensors')).reduce((s, r) => s + r.bytes, 0);
    expect(fetched).toBeLessThanOrEqual(done.plan!.bytesPlanned + (1 << 16) + (256 << 10));
    expect(errors).toEqual([]);
    expect(done.errors).toEqual([]);
    await page.screenshot({ path: join(results, 'offline-app-online.png') });
    chromiumFinal = done.lastResults;
    expect(done.plan!.threads).toBe(1); // no COOP/COEP here: threads: 'auto' falls back to one thread
    const wholeMs = fileBytes / LINK * 1000;
    Object.assign(figures, {
      budgetBits: BITS, budgetBytes: done.plan!.bytesPlanned, fileBytes, link: '10 Mbit/s',
      firstResultMs: Math.round(first.ms), bytesAtFirstResult: first.bytes, wholeFileDownloadMs: Math.round(wholeMs),
      firstResultShareOfWholeDownload: +(first.ms / wholeMs).toFixed(3),
      refinements: done.models.map((m) => ({ blocks: m.blocks, quality: +m.quality.toFixed(4), atMs: Math.round(m.at) })),
      bytesFetched: fetched,
      longestMainThreadTaskMs: done.longestTaskMs === null ? null : Math.round(done.longestTaskMs),
    });
  }, 240_000);

  it('offline: a reload works from the caches (service worker + openStack)', async () => {
    // The service worker has kept the shell (installed and active) before the link goes.
    await page.evaluate(async () => { await navigator.serviceWorker.ready; }, null);
    const online = (await app()).lastResults;
    const before = server.log.length;
    await context.setOffline(true);
    try {
      await page.reload();
      await page.waitForFunction(FINAL, null, { timeout: 120_000 });
      const a = await app();
      expect(a.errors).toEqual([]);
      expect(a.models.at(-1)!.fromCache).toBeGreaterThanOrEqual(a.plan!.bytesPlanned);
      // Nothing the app asked for reached the server (the browser's own update check of sw.js
      // is not subject to the page's offline emulation).
      expect(server.log.slice(before).filter((r) => r.path !== '/sw.js')).toEqual([]);
      expect(await page.locator('#network').textContent()).toBe('offline');
      const last = await page.evaluate(() => (window as unknown as { __app: App }).__app.lastResults);
      expect(last).toEqual(online); // the same blocks give the same model
      await page.screenshot({ path: join(results, 'offline-app-offline.png') });
      figures.offlineReloadFirstResultMs = Math.round(a.firstResults!.ms);
    } finally {
      await context.setOffline(false);
    }
  }, 240_000);

  // Debian's Firefox ESR through puppeteer-core's WebDriver BiDi (playwright-core cannot drive it).
  it.skipIf(!existsSync(FIREFOX))('the same page in Firefox: first results, then the same final results as Chromium', async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    const ff = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true });
    try {
      const p = await ff.newPage();
      // Firefox ESR 140.12 lacks the BiDi command puppeteer's setViewport ends with
      // (emulation.setScreenOrientationOverride): the page then keeps the window's size.
      await p.setViewport({ width: 375, height: 667, deviceScaleFactor: 2 }).catch(() => {});
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(String(e)));
      await p.goto(`${server.url}/?bits=${BITS}`);
      await p.waitForFunction(FINAL, { timeout: 180_000 });
      const a = await p.evaluate(() => (window as unknown as { __app: App }).__app);
      expect(errors).toEqual([]);
      expect(a.errors).toEqual([]);
      // Same wasm (ours and tfjs's, SIMD128 only) in another engine: the same ranking and scores.
      expect(a.lastResults!.map((r) => r.text)).toEqual(chromiumFinal!.map((r) => r.text));
      a.lastResults!.forEach((r, i) => expect(r.score).toBeCloseTo(chromiumFinal![i].score, 6));
      await p.screenshot({ path: join(results, 'offline-app-firefox.png') });
      figures.firefoxFirstResultMs = Math.round(a.firstResults!.ms);
    } finally {
      await ff.close();
    }
  }, 240_000);

  it('vite preview serves it cross-origin isolated (COOP/COEP): the app runs bitstack-wasm on the threads build, with the same results', async () => {
    const { preview } = await import('vite');
    const configFile = join(root, 'examples', 'offline-app', 'vite.config.mjs');
    const server = await preview({ configFile, preview: { port: 0, host: '127.0.0.1', strictPort: false }, logLevel: 'warn' });
    const ctx = await browser.newContext({ viewport: { width: 375, height: 667 } });
    try {
      const url = server.resolvedUrls!.local[0];
      const res = await fetch(url);
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      const p = await ctx.newPage();
      await p.goto(`${url}?bits=${BITS}`);
      await p.waitForFunction(FINAL, null, { timeout: 180_000 });
      expect(await p.evaluate(() => crossOriginIsolated)).toBe(true);
      const a = await p.evaluate(() => (window as unknown as { __app: App }).__app);
      expect(a.errors).toEqual([]);
      // The compute worker asked for threads: 'auto' and got the threads build (the weights are reconstructed
      // on every core); the final results are the one-thread page's, to the last bit of every score.
      expect(a.plan!.threads).toBe(await p.evaluate(() => navigator.hardwareConcurrency));
      expect(a.plan!.threads).toBeGreaterThan(1);
      expect(a.lastResults).toEqual(chromiumFinal);
      figures.isolatedThreads = a.plan!.threads;
    } finally {
      await ctx.close();
      await new Promise<void>((r) => server.httpServer.close(() => r()));
    }
  }, 180_000);
});
