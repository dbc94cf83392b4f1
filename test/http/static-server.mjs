// A static file server for the offline app's tests: Range requests (206, ETag), the right MIME types,
// files matching `throttle` paced at `bytesPerSecond` (a phone on a slow link), and a log of every
// request ({ path, status, range, bytes, at }), so that a test sees what was fetched and when.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.png': 'image/png',
};

export function serveStatic(root, { throttle = () => false, bytesPerSecond = Infinity } = {}) {
  const log = [];
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root + sep)) { res.writeHead(403).end(); return; }
    let info;
    try { info = await stat(file); } catch { info = null; }
    if (!info?.isFile()) { log.push({ path, status: 404, bytes: 0, at: Date.now() }); res.writeHead(404).end(); return; }
    const body = await readFile(file);
    const etag = `"${info.size}-${Math.floor(info.mtimeMs)}"`;
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes', etag, 'cache-control': 'no-cache' };
    let status = 200, part = body;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const a = Number(m[1]), b = Math.min(m[2] === '' ? body.length - 1 : Number(m[2]), body.length - 1);
      if (a >= body.length || b < a) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end(); return; }
      status = 206;
      part = body.subarray(a, b + 1);
      headers['content-range'] = `bytes ${a}-${b}/${body.length}`;
    }
    headers['content-length'] = String(part.length);
    log.push({ path, status, range: req.headers.range, bytes: part.length, at: Date.now() });
    res.writeHead(status, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    if (!throttle(path) || !Number.isFinite(bytesPerSecond)) { res.end(part); return; }
    // Paced: 16 KiB slices at the link's rate.
    const slice = 16 << 10, started = Date.now();
    for (let at = 0; at < part.length && !res.destroyed; at += slice) {
      const due = started + (at / bytesPerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (!res.write(part.subarray(at, at + slice))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, log, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) });
    });
  });
}
