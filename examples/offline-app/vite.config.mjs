// The offline app's build: `npx vite build examples/offline-app` (npm test runs it through its test).
// Besides Vite's own output, one plugin emits
// - the model files, made from the model package by examples/shared/model-assets.mjs (nothing large
//   is committed): the stack file, the graph without weights, the corpus, the quality table;
// - the app icons (PNG, drawn here) for the web app manifest;
// - sw.js, the service worker, with the list of files it keeps for offline use.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { buildModelAssets } from '../shared/model-assets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const assetsDir = join(root, 'build', 'examples', 'assets');

/** A square PNG icon: a dark tile with a stack of four bars (the layers of a BitStack). */
function icon(size) {
  const px = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    px[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const u = x / size, v = y / size;
      const bar = [0.2, 0.36, 0.52, 0.68].findIndex((t) => v >= t && v < t + 0.1);
      const on = bar >= 0 && u >= 0.18 + bar * 0.04 && u <= 0.82 - bar * 0.04;
      const [r, g, b] = on ? [[94, 234, 212], [45, 212, 191], [20, 184, 166], [13, 148, 136]][bar] : [17, 24, 39];
      px.set([r, g, b, 255], y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 6; // 8-bit RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(px)), chunk('IEND', Buffer.alloc(0))]);
}

function offlineAppFiles() {
  return {
    name: 'bitstack-offline-app-files',
    apply: 'build',
    async generateBundle(_options, bundle) {
      await buildModelAssets(assetsDir);
      const emit = (fileName, source) => this.emitFile({ type: 'asset', fileName, source });
      for (const f of await readdir(assetsDir)) emit(f, await readFile(join(assetsDir, f)));
      emit('icon-192.png', icon(192));
      emit('icon-512.png', icon(512));
      // Everything but the stack file is kept at install; the stack file's ranges are openStack's to cache.
      const files = [...Object.keys(bundle), 'icon-192.png', 'icon-512.png', 'manifest.webmanifest', ...(await readdir(assetsDir))]
        .filter((f) => !f.endsWith('.safetensors') && !f.endsWith('.map') && f !== 'sw.js');
      const shell = ["./", "./index.html", ...files.map((f) => `./${f}`)];
      const version = createHash('sha256').update(JSON.stringify(shell)).update(await readFile(join(assetsDir, 'model.bitstack.safetensors'))).digest('hex').slice(0, 16);
      const sw = (await readFile(join(here, 'src', 'sw.template.js'), 'utf8'))
        .replace('__VERSION__', version).replace('__SHELL__', JSON.stringify(shell));
      emit('sw.js', sw);
    },
  };
}

// Cross-origin isolation: a page served with these two headers is `crossOriginIsolated`, so it has
// SharedArrayBuffer and bitstack-wasm's `init({ threads })` can run its threads build (the app's own
// work, reconstructing weights for tfjs, runs on one thread either way). Every host that serves the
// app must send them (see README.md); the service worker's cached copies keep them offline.
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default {
  root: here,
  base: './',
  resolve: { alias: { 'bitstack-wasm': join(root, 'build', 'entry', 'web.js') } },
  worker: { format: 'es' },
  build: { outDir: join(root, 'build', 'examples', 'offline-app'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  plugins: [offlineAppFiles()],
  server: { fs: { allow: [root] }, headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
};
