// examples/edge-worker in workerd (miniflare): bundled by wrangler, the model's stack file and its
// companions in an R2 bucket, loaded lazily on the first request through openStack's random-access
// reads. Checks: embeddings byte-identical to Node's for the same budget, concurrent requests during
// the load share one load, memory within the Workers limit, cold start vs warm (printed), bad input.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
// @ts-expect-error plain ESM
import { buildModelAssets } from '../examples/shared/model-assets.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples', 'edge-worker');
const assets = join(root, 'build', 'examples', 'assets');
const dist = join(root, 'build', 'examples', 'edge-worker');
const BITS = 4;
let mf: Miniflare;
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  await buildModelAssets(assets);
  await run(join(root, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', dist], {
    cwd: example, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' }, maxBuffer: 16 << 20,
  });
  mf = new Miniflare({
    modules: true, scriptPath: join(dist, 'index.js'), modulesRoot: dist, compatibilityDate: '2025-01-01',
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    r2Buckets: ['MODEL'], bindings: { BUDGET_BITS: String(BITS) },
  });
  const bucket = await mf.getR2Bucket('MODEL');
  for (const f of await readdir(assets)) {
    const bytes = await readFile(join(assets, f));
    await bucket.put(f, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
}, 300_000);

afterAll(async () => {
  await mf?.dispose();
  await mkdir(join(root, 'build', 'test-results'), { recursive: true });
  await writeFile(join(root, 'build', 'test-results', 'edge-worker.json'), JSON.stringify(figures, null, 1));
  console.log('edge worker figures:', JSON.stringify(figures));
});

const TEXTS = ['How do I keep bread fresh for longer?', 'The train to Berlin leaves at seven in the morning.', 'Wölfe sind zurück im Nationalpark.'];
const f32 = (rows: number[][]) => new Float32Array(rows.flat());

describe('examples/edge-worker in workerd', () => {
  it('answers concurrent requests during a single lazy load; cold start vs warm printed', async () => {
    expect(await (await mf.dispatchFetch('http://localhost/stats')).json()).toEqual({ loaded: false, loadsStarted: 0 });
    const t0 = performance.now();
    const cold = await Promise.all([
      mf.dispatchFetch('http://localhost/search?q=laptop%20fan%20noise'),
      mf.dispatchFetch('http://localhost/embed', { method: 'POST', body: JSON.stringify({ texts: TEXTS }) }),
      mf.dispatchFetch('http://localhost/search?q=laptop%20fan%20noise'),
      mf.dispatchFetch('http://localhost/embed', { method: 'POST', body: JSON.stringify({ texts: TEXTS }) }),
    ].map(async (p) => { const r = await p; return { status: r.status, body: await r.json() as Record<string, any> }; }));
    const coldMs = performance.now() - t0;
    for (const r of cold) expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(cold[0].body.results).toEqual(cold[2].body.results);
    expect(cold[1].body.embeddings).toEqual(cold[3].body.embeddings);
    expect(cold[0].body.results[0].text).toBe('The laptop fan is loud because the vents are full of dust.');
    const t1 = performance.now();
    const warm = await mf.dispatchFetch('http://localhost/search?q=laptop%20fan%20noise');
    const warmMs = performance.now() - t1;
    expect((await warm.json() as { cold: boolean }).cold).toBe(false);
    const stats = await (await mf.dispatchFetch('http://localhost/stats')).json() as Record<string, any>;
    expect(stats.loadsStarted).toBe(1);
    // Bytes fetched from the bucket: the budget + the header + at most one request's slack.
    expect(stats.budget.bytesRead).toBeLessThanOrEqual(stats.budget.bytes + (1 << 16) + (1 << 20));
    Object.assign(figures, { budgetBits: BITS, budgetBytes: stats.budget.bytes, bytesRead: stats.budget.bytesRead, coldStartMs: Math.round(coldMs), warmSearchMs: Math.round(warmMs), timings: stats.timings });
  }, 120_000);

  it('memory: the wasm memories stay well inside the 128 MB Workers limit (figures printed)', async () => {
    const stats = await (await mf.dispatchFetch('http://localhost/stats')).json() as Record<string, any>;
    const m = stats.memory;
    expect(m.tfjsTensorBytes).toBeGreaterThan(27e6); // the model's dense weights, in tfjs
    expect(m.wasmPeakBytes).toBeLessThan(100 * 2 ** 20); // headroom under 128 MB for the JS heap
    Object.assign(figures, { wasmPeakMB: +(m.wasmPeakBytes / 2 ** 20).toFixed(1), tfjsHeapMB: +(m.tfjsWasmHeapBytes / 2 ** 20).toFixed(1), kernelsWasmMBDuringLoad: +(m.afterWeights.bitstackWasmBytes / 2 ** 20).toFixed(1), tfjsHeapAfterWeightsMB: +(m.afterWeights.tfjsWasmHeapBytes / 2 ** 20).toFixed(1) });
  });

  it('embeddings are byte-identical to Node\'s for the same budget', async () => {
    const res = await mf.dispatchFetch('http://localhost/embed', { method: 'POST', body: JSON.stringify({ texts: TEXTS }) });
    const worker = f32(((await res.json()) as { embeddings: number[][] }).embeddings);
    const { stdout } = await run(process.execPath, [join(example, 'reference.mjs'), assets, String(BITS), JSON.stringify(TEXTS)], { cwd: root, maxBuffer: 16 << 20 });
    const node = new Float32Array(new Uint8Array(Buffer.from(JSON.parse(stdout).embeddings, 'base64')).buffer);
    expect(worker.length).toBe(512 * TEXTS.length);
    expect(Buffer.from(worker.buffer).equals(Buffer.from(node.buffer))).toBe(true);
  }, 120_000);

  it('bad requests are 400/404 with a message', async () => {
    for (const [url, init, status] of [
      ['http://localhost/embed', { method: 'POST', body: 'not json' }, 400],
      ['http://localhost/embed', { method: 'POST', body: JSON.stringify({ texts: [] }) }, 400],
      ['http://localhost/embed', { method: 'POST', body: JSON.stringify({ texts: [42] }) }, 400],
      ['http://localhost/search', {}, 400],
      ['http://localhost/nope', {}, 404],
    ] as const) {
      const r = await mf.dispatchFetch(url, init as never);
      expect(r.status, url).toBe(status);
      expect(typeof ((await r.json()) as { error: string }).error).toBe('string');
    }
  });
});
