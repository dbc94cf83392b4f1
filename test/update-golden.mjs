// Rewrites test/golden.json from the default build in this Node process.
// Run it (npm run golden) only after a deliberate change of a kernel's arithmetic;
// `npm test` then checks that Deno, Chromium and workerd produce the same bytes.
import { writeFile } from 'node:fs/promises';
import * as api from 'bitstack-wasm';
import { runSuite } from './harness.mjs';

const result = await runSuite(`node ${process.version}`, api);
const failed = result.simd.filter((r) => !r.ok);
if (failed.length) {
  console.error(`not updating: ${failed.length} case(s) fail:\n${failed.map((r) => r.error).join('\n')}`);
  process.exit(1);
}
const hashes = Object.fromEntries(result.simd.filter((r) => r.hash).map((r) => [r.name, r.hash]));
await writeFile(new URL('./golden.json', import.meta.url), JSON.stringify({
  note: 'SHA-256 of each case output on the default (SIMD128) build; identical in Node, Deno, Chromium and workerd. Regenerate with `npm run golden`.',
  hashes,
}, null, 2) + '\n');
console.log(`wrote ${Object.keys(hashes).length} hashes, suite sha256 ${result.suiteHash}`);
