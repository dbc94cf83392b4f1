// The app's compute, off the main thread: bitstack-wasm loads the model's stack file progressively
// (openStack, with its cache for offline use), tfjs runs the sentence model with the weights the
// loaded blocks give, and every time more blocks are in, the model is rebuilt and the corpus
// re-embedded (a refinement). Messages in: {type: 'open', bits, base} | {type: 'search', q, id}.
// Messages out: {type: 'plan' | 'progress' | 'model' | 'results' | 'error', …}.
import { init } from 'bitstack-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as conv from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import { loadSentenceModel, weightsFromStack, meanCosine, nearest } from '../../../build/cli/sentence-model.js';

const DIM = 512;
const BATCH = 16; // sentences per tfjs call: bounds the activations' memory on a phone
let setup;        // { bw, spec, corpus, quality }, once
let session = 0;  // the current open; older ones stop at their next step
let current = null; // { live, controller, model, corpusEmbeddings, version }

const post = (msg) => self.postMessage(msg);
// tfjs work runs one task at a time: a search never meets a model that a refinement is replacing.
let queue = Promise.resolve();
const serial = (fn) => (queue = queue.then(fn, fn));

async function fetchJson(base, name) {
  const res = await fetch(new URL(name, base));
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  return res.json();
}

function getSetup(base) {
  return setup ??= (async () => {
    setWasmPaths({ 'tfjs-backend-wasm.wasm': simdWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': simdWasm });
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const [bw, spec, corpus, quality] = await Promise.all([
      // Threads where the page is cross-origin isolated (reconstructing the weights splits across cores), else one.
      init({ threads: 'auto' }), fetchJson(base, 'sentence-model.json'), fetchJson(base, 'corpus.json'), fetchJson(base, 'quality.json'), tf.setBackend('wasm'),
    ]);
    return { bw, spec, corpus, quality, full: new Float32Array(quality.full) };
  })();
}

function release(state) {
  if (!state) return;
  state.controller.abort('replaced');
  state.model?.dispose();
  // Blocks still arriving join matrices that are freed here: free them once loading has stopped.
  state.live?.loaded.catch(() => {}).finally(() => { for (const sm of Object.values(state.live.matrices)) sm.free(); });
}

async function refine(state, mine) {
  const { spec, corpus, full } = await setup;
  const live = state.live;
  const counts = Object.fromEntries(Object.keys(live.matrices).map((n) => [n, live.loadedBlocks(n)]));
  const blocks = Object.values(counts).reduce((s, c) => s + c, 0);
  const t0 = performance.now();
  const model = await loadSentenceModel(tf, conv, spec, weightsFromStack(live, counts));
  const probe = await model.embed((await setup).quality.probe, { batch: BATCH });
  const corpusEmbeddings = await model.embed(corpus, { batch: BATCH });
  if (mine !== session) { model.dispose(); return; }
  state.model?.dispose();
  Object.assign(state, { model, corpusEmbeddings, version: state.version + 1 });
  post({ type: 'model', version: state.version, blocks, blocksPlanned: live.order.length, bytes: live.bytesRead + live.bytesFromCache, bytesPlanned: live.bytesPlanned, fromCache: live.bytesFromCache, quality: meanCosine(full, probe, DIM), ms: Math.round(performance.now() - t0) });
}

async function open(bits, base) {
  const mine = ++session;
  release(current);
  const state = current = { live: null, controller: new AbortController(), model: null, corpusEmbeddings: null, version: 0 };
  const { bw, quality } = await getSetup(base);
  const step = quality.budgets.find((b) => b.bits === bits) ?? quality.budgets.at(-1);
  let dirty = false, wake = () => {};
  const live = state.live = await bw.openStack(new URL('model.bitstack.safetensors', base).href, {
    budget: step.bytes, cache: 'bitstack-offline-app-model', requestBytes: 256 << 10, signal: state.controller.signal,
    onBlock: () => { dirty = true; wake(); },
    onProgress: (p) => post({ type: 'progress', bytes: p.bytes, fromCache: p.fromCache, bytesPlanned: p.bytesPlanned, blocks: p.blocks, blocksPlanned: p.totalBlocks }),
  });
  post({ type: 'plan', threads: bw.features.threads, offline: live.offline, bits: step.bits, bytesPlanned: live.bytesPlanned, blocksPlanned: live.order.length, fileBytes: quality.fileBytes, expectedQuality: step.cosine });
  await live.ready;
  let done = false;
  live.loaded.then(() => { done = true; wake(); }, (e) => { done = true; wake(); if (mine === session && e?.code !== 'ABORTED') post({ type: 'error', message: `loading stopped: ${e.message}`, partial: true }); });
  // Refine while blocks arrive: one rebuild at a time, each with every block in by then — at the
  // first blocks, then whenever the loaded blocks have grown by half (a rebuild re-embeds the corpus,
  // ~2 s on a laptop: rebuilding at every block would hold the worker and slow the download), and
  // when the budget is in.
  let lastBlocks = 0;
  const loadedNow = () => Object.keys(live.matrices).reduce((s, n) => s + live.loadedBlocks(n), 0);
  dirty = true;
  while (mine === session) {
    if (dirty && (lastBlocks === 0 || done || loadedNow() >= lastBlocks * 1.5)) {
      dirty = false;
      lastBlocks = loadedNow();
      await serial(() => refine(state, mine));
      continue;
    }
    if (done && !dirty) break;
    await new Promise((r) => { wake = r; });
  }
}

function search(q, id) {
  const state = current;
  if (!state?.model) { post({ type: 'results', id, pending: true }); return; }
  return serial(() => state.model.embed([q])).then(async (qe) => {
    const { corpus } = await setup;
    post({ type: 'results', id, version: state.version, results: nearest(corpus, state.corpusEmbeddings, qe, 5, DIM) });
  });
}

self.onmessage = ({ data }) => {
  const run = data.type === 'open' ? open(data.bits, data.base) : data.type === 'search' ? search(data.q, data.id) : null;
  Promise.resolve(run).catch((e) => { if (e?.code !== 'ABORTED') post({ type: 'error', message: String(e?.message ?? e), code: e?.code }); });
};
