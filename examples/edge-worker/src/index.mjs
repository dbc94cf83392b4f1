// The edge function. On the first request (lazily: nothing heavy at start-up) it opens the stack
// file in the MODEL bucket with openStack — random-access reads, header first, blocks in stack order
// up to the budget — rebuilds the sentence model's weights from the blocks, embeds the corpus, and
// keeps all of it for the isolate's lifetime. Concurrent requests during loading wait on the same load.
//
//   POST /embed  {"texts": ["…", …]}  → {"embeddings": [[512 floats], …], "budget": {…}}
//   GET  /search?q=…&k=5              → {"results": [{"text", "score"}, …]}
//   GET  /stats                       → load timings and memory (wasm memories, tfjs tensors)
import { init } from 'bitstack-wasm';
import { loadSentenceModel, nearest, weightsFromStack } from '../../../build/cli/sentence-model.js';
import { loadTfjs } from './tfjs-workerd.mjs';

const STACK_KEY = 'model.bitstack.safetensors';
// Sentences per tfjs call: bounds the activations (tfjs's wasm heap keeps its largest size).
const BATCH = 16;
let state; // the loaded model, shared by every request of this isolate
let loadsStarted = 0;

async function objectJson(bucket, key) {
  const obj = await bucket.get(key);
  if (!obj) throw new Error(`the bucket has no ${key}`);
  return obj.json();
}

/** openStack's reader over an R2 object: one ranged get per request. */
const r2Reader = (bucket, key) => async (offset, length) => {
  const obj = await bucket.get(key, { range: { offset, length } });
  if (!obj) throw new Error(`the bucket has no ${key}`);
  return new Uint8Array(await obj.arrayBuffer());
};

async function load(env) {
  loadsStarted++;
  const t0 = Date.now();
  const [bw, { tf, conv }, spec, corpus, quality] = await Promise.all([
    init(), loadTfjs(), objectJson(env.MODEL, 'sentence-model.json'), objectJson(env.MODEL, 'corpus.json'), objectJson(env.MODEL, 'quality.json'),
  ]);
  const bits = Number(env.BUDGET_BITS ?? 4);
  const step = quality.budgets.find((b) => b.bits === bits);
  if (!step) throw new Error(`BUDGET_BITS=${env.BUDGET_BITS}: one of ${quality.budgets.map((b) => b.bits).join(', ')}`);
  const stack = await bw.openStack(r2Reader(env.MODEL, STACK_KEY), { budget: step.bytes, requestBytes: 1 << 20 });
  await stack.loaded; // the whole budget: a Worker answers with one model, not a growing one
  const t1 = Date.now();
  const model = await loadSentenceModel(tf, conv, spec, weightsFromStack(stack));
  // The blocks are not needed once the weights are in tfjs: free them, and drop the kernels instance
  // (its memory, at its peak now, goes with it).
  for (const sm of Object.values(stack.matrices)) sm.free();
  const afterWeights = wasmMemory(bw, tf);
  bw.dispose();
  const corpusEmbeddings = await model.embed(corpus, { batch: BATCH });
  const t2 = Date.now();
  return {
    tf, model, corpus, corpusEmbeddings,
    budget: { bits, bytes: step.bytes, bytesRead: stack.bytesRead, blocks: stack.order.length },
    timings: { openStackMs: t1 - t0, modelAndCorpusMs: t2 - t1 },
    afterWeights,
  };
}

const getState = (env) => (state ??= load(env).catch((e) => { state = undefined; throw e; }));

/** The isolate's two wasm memories (they only grow: their size is their peak). */
function wasmMemory(bw, tf) {
  return { bitstackWasmBytes: bw.memoryBytes, tfjsWasmHeapBytes: tf.backend().wasm.HEAPU8.buffer.byteLength };
}

function memory(s) {
  const tfjsWasmHeapBytes = s.tf.backend().wasm.HEAPU8.buffer.byteLength;
  return {
    // Peak of the wasm memories: the kernels' (while the weights were rebuilt) + tfjs's heap, whichever time is larger.
    wasmPeakBytes: Math.max(s.afterWeights.bitstackWasmBytes + s.afterWeights.tfjsWasmHeapBytes, tfjsWasmHeapBytes),
    tfjsWasmHeapBytes, tfjsTensorBytes: s.tf.memory().numBytes, afterWeights: s.afterWeights,
  };
}

const json = (body, status = 200) => Response.json(body, { status });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      const started = Date.now();
      const cold = state === undefined;
      if (url.pathname === '/embed' && request.method === 'POST') {
        let body;
        try { body = await request.json(); } catch { return json({ error: 'the body must be JSON: {"texts": ["…"]}' }, 400); }
        const texts = body?.texts;
        if (!Array.isArray(texts) || texts.length === 0 || texts.length > 256 || !texts.every((t) => typeof t === 'string' && t.length <= 2000)) {
          return json({ error: 'texts must be 1–256 strings of at most 2000 characters' }, 400);
        }
        const s = await getState(env);
        const e = await s.model.embed(texts, { batch: BATCH });
        const embeddings = texts.map((_, i) => Array.from(e.subarray(i * 512, (i + 1) * 512)));
        return json({ embeddings, budget: s.budget, cold, ms: Date.now() - started });
      }
      if (url.pathname === '/search' && request.method === 'GET') {
        const q = url.searchParams.get('q');
        const k = Math.min(20, Math.max(1, Number(url.searchParams.get('k') ?? 5) | 0));
        if (!q || q.length > 2000) return json({ error: 'q must be 1–2000 characters' }, 400);
        const s = await getState(env);
        const results = nearest(s.corpus, s.corpusEmbeddings, await s.model.embed([q]), k);
        return json({ results, budget: s.budget, cold, ms: Date.now() - started });
      }
      if (url.pathname === '/stats' && request.method === 'GET') {
        if (!state) return json({ loaded: false, loadsStarted });
        const s = await getState(env);
        return json({ loaded: true, loadsStarted, budget: s.budget, timings: s.timings, memory: memory(s) });
      }
      return json({ error: 'POST /embed {"texts": [...]}, GET /search?q=, GET /stats' }, 404);
    } catch (e) {
      return json({ error: String(e?.message ?? e) }, 500);
    }
  },
};
