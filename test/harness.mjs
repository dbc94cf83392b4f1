// Runs the shared cases (test/cases.mjs) in whatever runtime imports it.
// Used by every runner: Node (vitest), Deno, Chromium (playwright) and workerd (miniflare).

import { cases } from './cases.mjs';

async function sha256Hex(arrays) {
  let total = 0;
  for (const a of arrays) total += a.byteLength;
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('');
}

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
  const suiteHash = await sha256Hex([new TextEncoder().encode(simd.map((r) => `${r.name}:${r.hash}`).join('\n'))]);
  return { runtime, simd, relaxed, suiteHash };
}

/** Human-readable lines: runtime name, then one SHA-256 per case output. */
export function formatSuite(result) {
  const lines = [`runtime: ${result.runtime}`];
  for (const r of result.simd) lines.push(`${r.ok ? (r.hash ?? '-'.repeat(64)) : 'FAILED'.padEnd(64)}  ${r.name}`);
  lines.push(`suite sha256: ${result.suiteHash}`);
  lines.push(`relaxed build: ${result.relaxed ? `${result.relaxed.filter((r) => r.ok).length}/${result.relaxed.length} ok` : 'not supported here'}`);
  return lines.join('\n');
}
