// The threads build against the single-threaded build, in one process, interleaved medians:
// GEMM (columns split across threads), GEMV (the output split) and the fused BitStack matvec (rows split), resident
// operands so that only the kernels are timed. Prints ratios = one thread / n threads.
//   node bench/threads.mjs [--threads 2] [--runs 7]
import { init } from 'bitstack-wasm';
import { arg, interleavedMedians, randomF32, table, fmt } from './lib.mjs';

const runs = Number(arg('runs', 7));
const threads = Number(arg('threads', 2));
const one = await init();
const many = await init({ threads });
if (many.features.threads !== threads) throw new Error(`asked for ${threads} threads, runs ${many.features.threads}`);

const rows = [];
for (const [m, k, n] of [[1024, 1024, 1024], [256, 256, 256], [4096, 4096, 64], [64, 4096, 4096]]) {
  const a = randomF32(m * k, 1), b = randomF32(k * n, 2);
  const ops = [one, many].map((bw) => ({ a: bw.matrix(a, m, k), b: bw.matrix(b, k, n), c: bw.matrix(new Float32Array(m * n), m, n) }));
  const t = await interleavedMedians({
    one: () => one.matmul(ops[0].a, ops[0].b, m, k, n, { out: ops[0].c }),
    many: () => many.matmul(ops[1].a, ops[1].b, m, k, n, { out: ops[1].c }),
  }, { runs });
  rows.push([`GEMM ${m}x${k}·${k}x${n}`, fmt(t.one * 1e3), fmt(t.many * 1e3), fmt(t.one / t.many)]);
}

// Matrix-vector products (memory-bound: two cores' share of the memory bandwidth), W resident.
for (const [m, k, n, what] of [[1, 4096, 4096, 'x·W'], [4096, 4096, 1, 'W·x']]) {
  const x = randomF32(k, 3), wData = randomF32(k * (m === 1 ? n : m), 4);
  const ops = [one, many].map((bw) => ({ x: bw.matrix(x, m === 1 ? 1 : k, m === 1 ? k : 1), w: m === 1 ? bw.matrix(wData, k, n) : bw.matrix(wData, m, k), y: bw.matrix(new Float32Array(m * n), m, n) }));
  const call = (bw, o) => (m === 1 ? bw.matmul(o.x, o.w, m, k, n, { out: o.y }) : bw.matmul(o.w, o.x, m, k, n, { out: o.y }));
  const t = await interleavedMedians({ one: () => call(one, ops[0]), many: () => call(many, ops[1]) }, { runs });
  rows.push([`GEMV ${m}x${k}·${k}x${n} (${what})`, fmt(t.one * 1e3), fmt(t.many * 1e3), fmt(t.one / t.many)]);
}

// The fused matvec of 4 blocks: the reference's layout (rank 16, f16 factors) and rank 'auto'.
const [m, n] = [4096, 4096];
const w = randomF32(m * n, 7), x = randomF32(n, 8);
for (const opts of [{ rank: 16, factors: 'f16' }, {}]) {
  const sm = one.decompose(w, m, n, { blocks: 4, powerIters: 1, ...opts });
  const smMany = many.restore(sm.export());
  const t = await interleavedMedians({ one: () => sm.matvec(x, 4), many: () => smMany.matvec(x, 4) }, { runs });
  rows.push([`fused matvec ${m}x${n}, 4 blocks, rank ${opts.rank ?? 'auto'}`, fmt(t.one * 1e3), fmt(t.many * 1e3), fmt(t.one / t.many)]);
}
// Straight from the packed blocks, batched: reconstruct (W_b rebuilt in tiles of rows) and Y = W_b·X (prefill, 32 columns).
{
  const sm = one.decompose(w, m, n, { blocks: 4, powerIters: 1 });
  const smMany = many.restore(sm.export());
  const X = randomF32(n * 32, 9);
  for (const [label, f] of [['reconstruct, 4 blocks', (s) => s.reconstruct(4)], ['Y = W·X from 4 blocks, X 4096x32', (s) => s.matmul(X, 32, 4)]]) {
    const t = await interleavedMedians({ one: () => f(sm), many: () => f(smMany) }, { runs });
    rows.push([`${label} (${m}x${n})`, fmt(t.one * 1e3), fmt(t.many * 1e3), fmt(t.one / t.many)]);
  }
}
many.dispose();
console.log(`threads build, ${threads} threads vs one (interleaved medians of ${runs}); ms per call`);
console.log(table(['product', '1 thread', `${threads} threads`, 'ratio'], rows));
