// Runs the shared cases (test/cases.mjs) in whatever runtime imports it.
// Used by every runner: Node (vitest), Deno, Chromium (playwright) and workerd (miniflare).

import { cases } from './cases.mjs';
import { utf8 } from './cases/util.mjs';

/** SHA-256 in plain JS (FIPS 180-4), for hosts without crypto.subtle (JavaScriptCore's shell). */
function sha256Plain(bytes) {
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bytes.length / 2 ** 29));
  view.setUint32(padded.length - 4, (bytes.length * 8) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3), s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return Uint8Array.from(Array.from(h).flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]));
}

async function sha256Hex(arrays) {
  let total = 0;
  for (const a of arrays) total += a.byteLength;
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  const digest = typeof crypto !== 'undefined' && crypto.subtle ? new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)) : sha256Plain(bytes);
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('');
}

export { sha256Plain };

async function runAll(ctx, hash) {
  const results = [];
  for (const c of cases) {
    try {
      const outputs = await c.run(ctx);
      results.push({ name: c.name, ok: true, hash: hash && outputs ? await sha256Hex(outputs) : null });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: String((e && e.stack) || e) });
    }
  }
  return results;
}

/**
 * Runs every case on the default (deterministic) build, with hashes, and again
 * on the relaxed build (tolerances only) where the runtime supports relaxed SIMD.
 * `api`: the package's exports in this runtime ({ init, readTfjsModel, … }).
 * Returns { runtime, simd: [{ name, ok, hash?, error? }], relaxed: [...] | null, suiteHash }.
 */
export async function runSuite(runtime, api) {
  const bw = await api.init();
  const simd = await runAll({ ...api, bw }, true);
  const auto = await api.init({ relaxed: 'auto' });
  const relaxed = auto.features.relaxed ? await runAll({ ...api, bw: auto }, false) : null;
  // The threads build, where the host allows it: every case again, hashed (the same bits are expected).
  const threadedBw = await api.init({ threads: 2 });
  const threads = threadedBw.features.threads;
  const threaded = threads > 1 ? await runAll({ ...api, bw: threadedBw }, true) : null;
  threadedBw.dispose();
  const suiteHash = await sha256Hex([utf8(simd.map((r) => `${r.name}:${r.hash}`).join('\n'))]);
  return { runtime, simd, relaxed, threads, threaded, suiteHash };
}

/** Human-readable lines: runtime name, then one SHA-256 per case output. */
export function formatSuite(result) {
  const lines = [`runtime: ${result.runtime}`];
  for (const r of result.simd) lines.push(`${r.ok ? (r.hash ?? '-'.repeat(64)) : 'FAILED'.padEnd(64)}  ${r.name}`);
  lines.push(`suite sha256: ${result.suiteHash}`);
  lines.push(`relaxed build: ${result.relaxed ? `${result.relaxed.filter((r) => r.ok).length}/${result.relaxed.length} ok` : 'not supported here'}`);
  lines.push(`threads build: ${result.threaded ? `${result.threads} threads, ${result.threaded.filter((r) => r.ok && r.hash === result.simd.find((s) => s.name === r.name)?.hash).length}/${result.threaded.length} same bits` : 'not allowed here (one thread)'}`);
  return lines.join('\n');
}
