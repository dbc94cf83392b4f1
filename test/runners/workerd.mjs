// workerd runner: miniflare (which ships workerd) loads test/runners/worker.mjs from disk.
// `node test/runners/workerd.mjs [--json]`
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { formatSuite } from '../harness.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function runWorkerd() {
  const mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL('./worker.mjs', import.meta.url)),
    modulesRoot: ROOT,
    compatibilityDate: '2025-01-01',
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
  });
  try {
    const res = await mf.dispatchFetch('http://localhost/');
    const result = await res.json();
    if (result.error) throw new Error(`worker failed: ${result.error}`);
    return result;
  } finally {
    await mf.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runWorkerd();
  console.log(process.argv.includes('--json') ? JSON.stringify(result) : formatSuite(result));
}
