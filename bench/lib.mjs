// Shared benchmark helpers: timing with warm-up and medians, result tables.
// Single thread throughout; every table compares against peers run in the same process.

import { performance } from 'node:perf_hooks';

/**
 * Median seconds per call of `fn` over `runs` samples after `warmup` calls.
 * A sample repeats `fn` until it lasts ≥ minSampleMs, so fast calls are timed accurately.
 */
export async function median(fn, { warmup = 2, runs = 5, minSampleMs = 50 } = {}) {
  return (await interleavedMedians({ fn }, { warmup, runs, minSampleMs })).fn;
}

/** Seconds per call of `fn`, repeated until the sample lasts ≥ minSampleMs. */
async function sample(fn, minSampleMs) {
  let reps = 0;
  const t0 = performance.now();
  let t1 = t0;
  do {
    await fn();
    reps++;
    t1 = performance.now();
  } while (t1 - t0 < minSampleMs);
  return (t1 - t0) / 1000 / reps;
}

/**
 * Medians like `median`, for several functions measured in interleaved rounds
 * (round r times every function once), so a slow phase of a noisy machine
 * hits every peer alike. `fns`: { label: fn }. Returns { label: seconds }.
 */
export async function interleavedMedians(fns, { warmup = 2, runs = 5, minSampleMs = 50 } = {}) {
  const samples = {};
  for (const [label, fn] of Object.entries(fns)) {
    samples[label] = [];
    for (let i = 0; i < warmup; i++) await fn();
  }
  for (let r = 0; r < runs; r++) {
    for (const [label, fn] of Object.entries(fns)) samples[label].push(await sample(fn, minSampleMs));
  }
  const out = {};
  for (const [label, list] of Object.entries(samples)) {
    list.sort((x, y) => x - y);
    out[label] = list[list.length >> 1];
  }
  return out;
}

/** Deterministic uniform [-1, 1) data (not the tests' PRNG, not worth sharing). */
export function randomF32(n, seed = 1) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Prints an aligned table; rows are arrays of cells. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(all[0]), '|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|', ...all.slice(1).map(line)].join('\n');
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
}

export const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
