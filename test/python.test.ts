// A non-JS host: Python with Wasmtime (Cranelift) runs examples/python/host.py, which calls the
// kernels through the raw ABI only; its hashes must equal test/golden.json. The registry for
// Python packages is not reachable here, but a wasmtime wheel lies on these machines' disk:
// it is installed into build/python-venv. Without the wheel the test reports itself SKIPPED.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const venv = join(root, 'build', 'python-venv');

/** The wasmtime wheel: $WASMTIME_WHEEL, or the first wasmtime-*.whl under /opt or $PIP_FIND_LINKS (a few levels deep). */
function findWheel(): string | null {
  if (process.env.WASMTIME_WHEEL && existsSync(process.env.WASMTIME_WHEEL)) return process.env.WASMTIME_WHEEL;
  const search = (dir: string, depth: number): string | null => {
    let names: string[];
    try { names = readdirSync(dir); } catch { return null; }
    for (const name of names.sort()) {
      const path = join(dir, name);
      if (/^wasmtime-.*\.whl$/.test(name)) return path;
      if (depth > 0) {
        try { if (statSync(path).isDirectory()) { const found = search(path, depth - 1); if (found) return found; } } catch { /* unreadable */ }
      }
    }
    return null;
  };
  for (const dir of [...(process.env.PIP_FIND_LINKS ?? '').split(/\s+/).filter(Boolean), '/opt']) {
    const found = search(dir, 3);
    if (found) return found;
  }
  return null;
}

const wheel = findWheel();

describe('Python host (Wasmtime)', () => {
  if (!wheel) {
    it.skip('no wasmtime wheel on this machine (set WASMTIME_WHEEL): the Python host is SKIPPED', () => {});
    return;
  }
  it('examples/python/host.py reproduces the golden hashes through the raw ABI', async () => {
    const python = join(venv, 'bin', 'python');
    if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--no-index', '--quiet', '--disable-pip-version-check', wheel], { env: { ...process.env, PIP_NO_INDEX: '1' } });
    const { stdout } = await run(python, [join(root, 'examples', 'python', 'host.py'), join(root, 'build', 'kernels.simd.wasm'), '--json']);
    const got = JSON.parse(stdout) as Record<string, string>;
    const golden = JSON.parse(readFileSync(join(root, 'test', 'golden.json'), 'utf8')).hashes as Record<string, string>;
    expect(Object.keys(got)).toHaveLength(3);
    for (const [name, hash] of Object.entries(got)) expect([name, hash]).toEqual([name, golden[name]]);
  }, 180_000);
});
