// The package as a consumer's bundler sees it: examples/bundlers/ built with Vite, esbuild and
// webpack into pages run in Debian's Chromium, and with wrangler into a Worker run in workerd. The
// consumer is a folder whose node_modules/bitstack-wasm is the packed tarball (`npm pack`), unpacked:
// only what the package's `files` ship.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cp, mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Miniflare } from 'miniflare';
// @ts-expect-error plain ESM shared with the browser runner
import { serve } from './runners/serve.mjs';
// @ts-expect-error plain ESM shared with the browser runner
import { CHROMIUM_PATH, CHROMIUM_ARGS } from './runners/chromium.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const work = join(root, 'build', 'bundlers');
const EXPECTED = 'C = 58, 64, 139, 154';

let browser: Browser;

let tarball = '';

/** A consumer folder with the example copied in and the package installed from the tarball. */
async function consumer(name: string, example: string): Promise<string> {
  const dir = join(work, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'node_modules', 'bitstack-wasm'), { recursive: true });
  await cp(join(root, 'examples', 'bundlers', example), dir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', join(dir, 'node_modules', 'bitstack-wasm'), '--strip-components=1']);
  return dir;
}

/** Serves `dir` and returns what the page shows in #out once it is done. */
async function pageText(dir: string, page = 'index.html'): Promise<string> {
  const server = await serve(dir);
  const tab = await browser.newPage();
  try {
    await tab.goto(`${server.url}/${page}`, { timeout: 60_000 });
    await tab.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading…', null, { timeout: 60_000 });
    return (await tab.textContent('#out')) ?? '';
  } finally {
    await tab.close();
    await server.close();
  }
}

describe('bundlers', () => {
  beforeAll(async () => {
    await mkdir(work, { recursive: true });
    // The tarball a consumer installs (scripts off: build/ is already built).
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], { cwd: root, maxBuffer: 16 << 20 });
    tarball = join(work, JSON.parse(stdout)[0].filename);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('Vite 8: builds the page, emits the three .wasm files (simd, relaxed, threads), init() works as written', async () => {
    const dir = await consumer('vite', 'web');
    const { build } = await import('vite');
    await build({ root: dir, logLevel: 'silent', build: { outDir: join(dir, 'dist'), emptyOutDir: true, target: 'es2022' } });
    const assets = await readdir(join(dir, 'dist', 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm'))).toHaveLength(3);
    expect(await pageText(join(dir, 'dist'))).toBe(EXPECTED);
  }, 120_000);

  it('esbuild: the default init() ends in an error that names the URL and the fix; the documented fix works', async () => {
    const dir = await consumer('esbuild', 'web');
    const esbuild = await import('esbuild');
    for (const entry of ['main.js', 'main-esbuild.js']) {
      await esbuild.build({
        entryPoints: [join(dir, entry)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
        outfile: join(dir, 'dist', entry), logLevel: 'silent',
      });
    }
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><div id="out">loading…</div><script type="module" src="./main.js"></script>');
    const broken = await pageText(join(dir, 'dist'));
    expect(broken).toMatch(/^error WASM: fetching the kernels module http:\/\/127\.0\.0\.1:\d+\/kernels\.simd\.wasm failed: HTTP 404\. .*init\(\{ wasm/);
    await cp(join(root, 'build', 'kernels.simd.wasm'), join(dir, 'dist', 'kernels.simd.wasm'));
    await writeFile(join(dir, 'dist', 'fixed.html'), '<!doctype html><div id="out">loading…</div><script type="module" src="./main-esbuild.js"></script>');
    expect(await pageText(join(dir, 'dist'), 'fixed.html')).toBe(EXPECTED);
  }, 120_000);

  it('webpack 5: the asset is emitted and init() works as written', async () => {
    const dir = await consumer('webpack', 'web');
    const { default: webpack } = await import('webpack');
    const stats = await new Promise<import('webpack').Stats>((resolve, reject) => {
      webpack({
        mode: 'production', context: dir, entry: './main.js', target: 'web',
        output: { path: join(dir, 'dist'), filename: 'main.js', clean: true },
        experiments: { topLevelAwait: true },
        resolve: { conditionNames: ['browser', 'import', 'module', 'default'] },
      }, (err, s) => (err || !s ? reject(err) : resolve(s)));
    });
    expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
    expect((await readdir(join(dir, 'dist'))).some((f) => f.endsWith('.wasm'))).toBe(true);
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><div id="out">loading…</div><script src="./main.js"></script>');
    expect(await pageText(join(dir, 'dist'))).toBe(EXPECTED);
  }, 120_000);

  it('wrangler 4: bundles the Worker (the workerd entry, .wasm as modules) and it runs in workerd', async () => {
    const dir = await consumer('wrangler', 'worker');
    const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
    await run(wrangler, ['deploy', '--dry-run', '--outdir', 'dist'], {
      cwd: dir, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' }, maxBuffer: 16 << 20,
    });
    const files = await readdir(join(dir, 'dist'));
    expect(files.filter((f) => f.endsWith('.wasm')).length).toBeGreaterThanOrEqual(1);
    const mf = new Miniflare({
      modules: true, scriptPath: join(dir, 'dist', 'index.js'), modulesRoot: join(dir, 'dist'), compatibilityDate: '2025-01-01',
      modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    });
    try {
      expect(await (await mf.dispatchFetch('http://localhost/')).text()).toBe(EXPECTED);
    } finally {
      await mf.dispose();
    }
  }, 180_000);
});
