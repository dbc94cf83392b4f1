// Progressive loading (bw.openStack) against a local HTTP server that serves a real stack file
// — with Range support, or ignoring it, or misbehaving on purpose — and from a Blob and a reader.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { init, type Bitstack, type LiveStack } from 'bitstack-wasm';

type Mode = 'range' | 'no-range' | 'bad-range' | 'short' | 'etag-change' | 'size-change' | '404-later' | '500-later' | 'slow';

let bw: Bitstack;
let file: Uint8Array;
let server: Server;
let base = '';
const served: Array<{ mode: string; range?: string; bytes: number }> = [];

/** A stack of four trained-like matrices of different shapes and ranks, with a kept tensor: larger than the first 64 KiB read. */
function makeFile(): Uint8Array {
  const mats: Record<string, ReturnType<Bitstack['decompose']>> = Object.create(null);
  let seed = 7;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed >>> 8) / 2 ** 24 - 0.5; };
  for (const [name, m, n, blocks] of [['a', 256, 192, 5], ['b', 160, 288, 4], ['c', 99, 63, 3], ['__proto__', 64, 64, 3]] as const) {
    const low = bw.matmul(Float32Array.from({ length: m * 3 }, rnd), Float32Array.from({ length: 3 * n }, rnd), m, 3, n) as Float32Array;
    mats[name] = bw.decompose(low.map((v) => v + 0.1 * rnd()), m, n, { blocks });
  }
  const bytes = bw.stack(mats).toSafetensors({ prepend: [{ name: 'embeddings', dtype: 'F32', shape: [4000, 4], bytes: new Uint8Array(new Float32Array(16000).map((_, i) => i).buffer) }] });
  for (const sm of Object.values(mats)) sm.free();
  return bytes;
}

beforeAll(async () => {
  bw = await init();
  file = makeFile();
  let requests = 0;
  server = createServer((req, res) => {
    const mode = new URL(req.url!, 'http://x').pathname.slice(1) as Mode;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    requests++;
    const send = (status: number, body: Uint8Array, headers: Record<string, string> = {}) => {
      served.push({ mode, range: req.headers.range, bytes: body.length });
      res.writeHead(status, { 'content-length': String(body.length), ...headers }).end(body);
    };
    if (mode === 'no-range' || !range) { send(200, file); return; }
    const a = Number(range[1]), b = Math.min(Number(range[2]), file.length - 1);
    const nth = served.filter((s) => s.mode === mode).length;
    const total = mode === 'size-change' && nth > 1 ? file.length + 1 : file.length;
    const etag = mode === 'etag-change' && nth > 1 ? '"v2"' : '"v1"';
    if ((mode === '404-later' || mode === '500-later') && nth > 1) { send(mode === '404-later' ? 404 : 500, new Uint8Array(0)); return; }
    const body = file.subarray(a, b + 1);
    const headers = { 'content-range': `bytes ${mode === 'bad-range' && nth > 0 ? a + 1 : a}-${b}/${total}`, etag };
    if (mode === 'short' && nth > 1) { send(206, body.subarray(0, body.length - 1), { ...headers }); return; }
    if (mode === 'slow') { setTimeout(() => send(206, body, headers), 30); return; }
    send(206, body, headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
  void requests;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Products of the live stack's matrices equal readStack's at the same block counts, bit for bit. */
function sameAsReadStack(live: LiveStack) {
  const whole = bw.readStack(file);
  for (const [name, sm] of Object.entries(live.matrices)) {
    const count = live.loadedBlocks(name);
    const x = new Float32Array(sm.cols).map((_, i) => Math.sin(i));
    expect(Buffer.from(sm.matvec(x).buffer)).toEqual(Buffer.from(whole.matrices[name].matvec(x, count).buffer));
    expect(Buffer.from(sm.reconstruct().buffer)).toEqual(Buffer.from(whole.matrices[name].reconstruct(count).buffer));
  }
  for (const sm of Object.values(whole.matrices)) sm.free();
}

describe('openStack', () => {
  it('over HTTP Range requests: ready at minBlocks, then every block, the same bytes as readStack', async () => {
    const progress: number[] = [];
    const blocks: string[] = [];
    const live = await bw.openStack(`${base}/range`, { requestBytes: 1024, onProgress: (p) => progress.push(p.blocks), onBlock: (n, b) => blocks.push(`${n}:${b}`) });
    // Ready: every matrix has its first block.
    for (const name of ['a', 'b', 'c', '__proto__']) expect(live.loadedBlocks(name)).toBeGreaterThanOrEqual(1);
    expect(Object.getPrototypeOf(live.matrices)).toBe(null);
    expect(Array.from(new Float32Array(live.tensors.embeddings.bytes.slice().buffer)).slice(0, 3)).toEqual([0, 1, 2]);
    await live.loaded;
    expect(live.order.length).toBe(15);
    expect(Object.entries(live.matrices).map(([n, m]) => `${n}:${m.blockCount}`).sort()).toEqual(['__proto__:3', 'a:5', 'b:4', 'c:3']);
    expect(blocks.length).toBe(15);
    expect(progress.at(-1)).toBe(15);
    sameAsReadStack(live);
    // Every byte fetched once; after the header's first read, no request above requestBytes but a single larger block.
    expect(live.bytesRead).toBe(file.length);
    const blockMax = Math.max(...Object.values(live.matrices).map((m) => Math.max(...Array.from({ length: m.blockCount }, (_, i) => m.blockByteLength(i)))));
    for (const r of served.filter((x) => x.mode === 'range').slice(1)) expect(r.bytes).toBeLessThanOrEqual(Math.max(1024, blockMax));
    expect(live.snapshot().order.length).toBe(15);
    for (const sm of Object.values(live.matrices)) sm.free();
  });

  it('a budget loads the strict prefix, fetching at most budget + header + one request', async () => {
    const whole = bw.readStack(file);
    const full = whole.bytesFor(Object.fromEntries(Object.entries(whole.matrices).map(([n, m]) => [n, m.blockCount])));
    const budget = Math.floor((whole.minimumBytes() + full) / 2);
    const want = whole.selectForBudget(budget, { fill: false });
    const headerBytes = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
    const before = served.length;
    const live = await bw.openStack(`${base}/range`, { budget, requestBytes: 2048 });
    await live.loaded;
    for (const name of Object.keys(want)) expect(live.loadedBlocks(name)).toBe(want[name]);
    const fetched = served.slice(before).reduce((s, r) => s + r.bytes, 0);
    expect(fetched).toBeLessThanOrEqual(budget + headerBytes + 2048 + (1 << 16));
    sameAsReadStack(live);
    await expect(bw.openStack(`${base}/range`, { budget: 10 })).rejects.toMatchObject({ code: 'BUDGET' });
    for (const sm of [...Object.values(live.matrices), ...Object.values(whole.matrices)]) sm.free();
  });

  it('a server that ignores Range is read as a stream, and a Response, a Blob and a reader work alike', async () => {
    for (const source of [`${base}/no-range`, await fetch(`${base}/no-range`), new Blob([file]), async (o: number, l: number) => file.slice(o, o + l)]) {
      const live = await bw.openStack(source as never, { requestBytes: 512 });
      await live.loaded;
      expect(Object.entries(live.matrices).map(([n, m]) => `${n}:${m.blockCount}`).sort()).toEqual(['__proto__:3', 'a:5', 'b:4', 'c:3']);
      sameAsReadStack(live);
      for (const sm of Object.values(live.matrices)) sm.free();
    }
  });

  it('bad servers are typed errors; no block is half applied; abort stops cleanly', async () => {
    const resident = bw.residentBytes;
    for (const [mode, why] of [
      ['bad-range', /bad Content-Range/], ['short', /short read|sent bytes/], ['etag-change', /ETag changed/],
      ['size-change', /size went from/], ['404-later', /HTTP 404/], ['500-later', /HTTP 500/],
    ] as const) {
      let err: { code?: string; message?: string } | undefined;
      try {
        const live = await bw.openStack(`${base}/${mode}`, { requestBytes: 256 });
        await live.loaded.catch((e) => { err = e; });
        // Whatever was applied is whole: every matrix's blocks reconstruct and agree with readStack.
        sameAsReadStack(live);
        for (const sm of Object.values(live.matrices)) sm.free();
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.code, mode).toBe('FORMAT');
      expect(err?.message, mode).toMatch(why);
    }
    const controller = new AbortController();
    const pending = bw.openStack(`${base}/slow`, { requestBytes: 128, signal: controller.signal });
    setTimeout(() => controller.abort('enough'), 40);
    // Aborted during the first blocks (openStack rejects) or later (`loaded` rejects): ABORTED either way.
    const err = await pending.then(async (live) => {
      const e = await live.loaded.then(() => null, (x) => x);
      sameAsReadStack(live);
      for (const sm of Object.values(live.matrices)) sm.free();
      return e;
    }, (e) => e);
    expect(err?.code).toBe('ABORTED');
    expect(err?.cause).toBe('enough');
    expect(bw.residentBytes).toBe(resident);
  });
});
