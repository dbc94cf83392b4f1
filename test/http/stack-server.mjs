// A local HTTP server that serves a real stack file — with Range support, ignoring it, or misbehaving
// on purpose — for openStack's tests in every runtime (Node hosts it; Deno, Chromium and workerd
// fetch from it). CORS-enabled, never cached by the browser.
//
//   GET /file            the whole file (200), for comparisons
//   GET /<mode>          one of MODES (Range requests answered as the mode says)
//   GET /control?offline=1|0&version=1|2|3   (3: a header longer than 64 KiB)   switch the data routes off (connections dropped) / the file
import { createServer } from 'node:http';

export const MODES = ['range', 'no-range', 'bad-range', 'short', 'etag-change', 'size-change', '404-later', '500-later', 'slow'];

/** A stack of four trained-like matrices of different shapes and ranks, with a kept tensor: larger than the first 64 KiB read. */
export function makeStackFile(bw, seed = 7, { longHeader = false } = {}) {
  const mats = Object.create(null);
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed >>> 8) / 2 ** 24 - 0.5; };
  for (const [name, m, n, blocks] of [['a', 256, 192, 5], ['b', 160, 288, 4], ['c', 99, 63, 3], ['__proto__', 64, 64, 3]]) {
    const low = bw.matmul(Float32Array.from({ length: m * 3 }, rnd), Float32Array.from({ length: 3 * n }, rnd), m, 3, n);
    mats[name] = bw.decompose(low.map((v) => v + 0.1 * rnd()), m, n, { blocks });
  }
  const prepend = [{ name: 'embeddings', dtype: 'F32', shape: [4000, 4], bytes: new Uint8Array(new Float32Array(16000).map((_, i) => i).buffer) }];
  // A header longer than openStack's first 64 KiB read: many small kept tensors.
  if (longHeader) for (let i = 0; i < 1500; i++) prepend.push({ name: `norm.${i}.weight.with.a.long.name`, dtype: 'F32', shape: [1], bytes: new Uint8Array(new Float32Array([i]).buffer) });
  const bytes = bw.stack(mats).toSafetensors({ prepend });
  for (const sm of Object.values(mats)) sm.free();
  return bytes;
}

/** Starts the server on 127.0.0.1: { base, served (a log of requests), files, close() }. */
export async function startStackServer(bw) {
  const files = { 1: makeStackFile(bw, 7), 2: makeStackFile(bw, 11), 3: makeStackFile(bw, 13, { longHeader: true }) };
  let version = 1, offline = false;
  const served = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const cors = {
      'access-control-allow-origin': '*', 'access-control-allow-headers': 'range',
      'access-control-expose-headers': 'content-range, etag, content-length', 'cache-control': 'no-store',
    };
    if (req.method === 'OPTIONS') { res.writeHead(204, cors).end(); return; }
    if (url.pathname === '/control') {
      if (url.searchParams.has('offline')) offline = url.searchParams.get('offline') === '1';
      if (url.searchParams.has('version')) version = Number(url.searchParams.get('version'));
      res.writeHead(200, cors).end('ok');
      return;
    }
    if (offline) { req.socket.destroy(); return; }
    const file = files[version];
    const mode = url.pathname.slice(1);
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const send = (status, body, headers = {}) => {
      served.push({ mode, range: req.headers.range, bytes: body.length });
      res.writeHead(status, { ...cors, 'content-length': String(body.length), ...headers }).end(body);
    };
    if (mode === 'file' || mode === 'no-range' || !range) { send(200, file); return; }
    if (!MODES.includes(mode)) { send(404, new Uint8Array(0)); return; }
    const a = Number(range[1]), b = Math.min(Number(range[2]), file.length - 1);
    const nth = served.filter((s) => s.mode === mode).length;
    const total = mode === 'size-change' && nth > 1 ? file.length + 1 : file.length;
    const etag = mode === 'etag-change' && nth > 1 ? '"v2"' : `"v${version}"`;
    if ((mode === '404-later' || mode === '500-later') && nth > 1) { send(mode === '404-later' ? 404 : 500, new Uint8Array(0)); return; }
    const body = file.subarray(a, b + 1);
    const headers = { 'content-range': `bytes ${mode === 'bad-range' && nth > 0 ? a + 1 : a}-${b}/${total}`, etag };
    if (mode === 'short' && nth > 1) { send(206, body.subarray(0, body.length - 1), headers); return; }
    if (mode === 'slow') { setTimeout(() => send(206, body, headers), 30); return; }
    send(206, body, headers);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base, served, files,
    reset() { served.length = 0; version = 1; offline = false; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
