// The README's Node and Deno examples run as written, through the package's own exports.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const dir = new URL('../build/readme/', import.meta.url);

async function example(name: string): Promise<string> {
  const readme = await readFile(new URL('README.md', root), 'utf8');
  const m = readme.match(new RegExp(`<!-- example: ${name} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``));
  if (!m) throw new Error(`README has no "${name}" example`);
  return m[1];
}

describe('README examples', () => {
  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
  });

  it('Node example prints the product', async () => {
    const file = new URL('node.mjs', dir);
    await writeFile(file, await example('node'));
    const { stdout } = await run(process.execPath, [fileURLToPath(file)]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('58, 64, 139, 154');
    expect(lines[1]).toMatch(/^58, 64, 139, 154 \{ simd: true, relaxed: false \}$/);
  });

  it('Deno example prints the product', async () => {
    const file = new URL('deno.mjs', dir);
    await writeFile(file, await example('deno'));
    const deno = fileURLToPath(new URL('node_modules/.bin/deno', root));
    const { stdout } = await run(deno, ['run', '-A', '--no-prompt', fileURLToPath(file)], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(stdout).toMatch(/^47, 52, 57, 64, 71, 78, 81, 90, 99 \{ simd: true, relaxed: true \}$/m);
  });
});
