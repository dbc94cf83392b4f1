// The README's Node and Deno examples run as written, through the package's own exports.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const dir = new URL('../build/readme/', import.meta.url);

/** Bytes of packed signs for `count` values. */
const m8 = (count: number) => Math.ceil(count / 8);

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
    expect(lines[1]).toMatch(/^58, 64, 139, 154 \{ simd: true, relaxed: false, threads: 1 \}$/);
  });

  it('threads example: two threads, the one-thread bits', async () => {
    const file = new URL('threads.mjs', dir);
    await writeFile(file, await example('threads'));
    const { stdout } = await run(process.execPath, [fileURLToPath(file)]);
    expect(stdout.trim()).toBe('2 true');
  });

  it('BitStack example: ranks, budgets, a product and the file', async () => {
    const file = new URL('bitstack.mjs', dir);
    await writeFile(file, await example('bitstack'));
    const { stdout } = await run(process.execPath, [fileURLToPath(file)]);
    const lines = stdout.trim().split('\n');
    const ranks = /^ranks ([\d,]+) error after 8 blocks (0\.\d+)$/.exec(lines[0])!;
    expect(ranks[1].split(',')).toHaveLength(8);
    expect(Number(ranks[2])).toBeLessThan(0.3);
    const minimum = Number(/^minimum (\d+) bytes$/.exec(lines[1])![1]);
    expect(minimum).toBeGreaterThan(4096 + m8(256 * 512));
    const [, blocks, bytes, bits] = /^3 bits: (\d+) blocks, (\d+) bytes, ([\d.]+) bits$/.exec(lines[2])!.map(Number);
    expect(blocks).toBeGreaterThanOrEqual(2);
    expect(bits).toBeLessThanOrEqual(3);
    expect(bytes).toBeLessThanOrEqual(4096 + 3 * 256 * 512 / 8);
    expect(lines[3]).toMatch(/^y\[0\] = -?\d+\.\d{4}$/);
    expect(lines[4]).toBe('BUDGET');
    expect(lines[5]).toBe(`read back ${ranks[1]}`);
  });

  it('openStack example (Node) loads a budget of a stack file', async () => {
    const { init } = await import('bitstack-wasm');
    const bw = await init();
    const mats = Object.create(null);
    mats.a = bw.decompose(new Float32Array(128 * 96).map((_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011)), 128, 96, { blocks: 6 });
    mats.b = bw.decompose(new Float32Array(64 * 160).map((_, i) => Math.cos(i * 0.23)), 64, 160, { blocks: 6 });
    const bytes = bw.stack(mats).toSafetensors();
    await writeFile(new URL('model.bitstack.safetensors', dir), bytes);
    const whole = bw.readStack(bytes);
    const want = whole.selectForBudget(40_000, { fill: false });
    const file = new URL('openstack.mjs', dir);
    await writeFile(file, await example('openstack-node'));
    const { stdout } = await run(process.execPath, [fileURLToPath(file)], { cwd: fileURLToPath(dir) });
    const [blocks, , read, , , , planned] = stdout.trim().split(' '); // "N blocks, X bytes read of Y planned"
    expect(Number(blocks)).toBe(Object.values(want).reduce((s, c) => s + c, 0));
    expect(Number(read)).toBe(Number(planned));
    expect(Number(planned)).toBeLessThanOrEqual(40_000 + 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)));
  });

  it('Deno example prints the product', async () => {
    const file = new URL('deno.mjs', dir);
    await writeFile(file, await example('deno'));
    const deno = fileURLToPath(new URL('node_modules/.bin/deno', root));
    const { stdout } = await run(deno, ['run', '-A', '--no-prompt', fileURLToPath(file)], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(stdout).toMatch(/^47, 52, 57, 64, 71, 78, 81, 90, 99 \{ simd: true, relaxed: true, threads: 1 \}$/m);
  });
});
