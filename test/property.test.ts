// Property-based tests (fast-check) of the kernels' API and structure-aware fuzzing of every
// parser, with a fixed seed and a bounded number of runs in `npm test`; `npm run fuzz` runs the
// same properties far longer (FUZZ_RUNS, FUZZ_SEED). A failure prints its seed and path; every
// input that ever failed is kept under test/regressions/ and replayed here first.
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { init, readSafetensors, readTfjsModel, BitstackError, type Bitstack } from 'bitstack-wasm';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };
const fuzzTimeout = Math.max(120_000, RUNS * 2_000);

let bw: Bitstack;
beforeAll(async () => { bw = await init(); });

/** Only BitstackErrors may come out of a parser: anything else (TypeError, RangeError, a crash) fails. */
function typedOnly(fn: () => unknown, codes: string[]): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BitstackError)) throw e;
    expect(codes).toContain(e.code);
  }
}

const dimArb = fc.oneof(fc.constantFrom(1, 2, 3, 7, 8, 13, 17, 31, 32, 33), fc.integer({ min: 1, max: 48 }));
const f32Arb = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -4, max: 4 });

describe('properties of the kernels API', () => {
  it('matmul equals the f64 product within γ_k·|A|·|B|, on views at any offset, transposed or not', () => {
    fc.assert(fc.property(dimArb, dimArb, dimArb, fc.boolean(), fc.boolean(), fc.nat(7), fc.nat(7), fc.integer(), (m, k, n, ta, tb, offA, offB, seed) => {
      // Inputs as views at odd offsets into larger buffers.
      let s = seed >>> 0;
      const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s >>> 8) / 2 ** 24 - 0.5; };
      const a = new Float32Array(m * k + offA + 3).map(next).subarray(offA, offA + m * k);
      const b = new Float32Array(k * n + offB + 3).map(next).subarray(offB, offB + k * n);
      const c = bw.matmul(a, b, m, k, n, { transA: ta, transB: tb }) as Float32Array;
      const u = 2 ** -24, gamma = (k * u) / (1 - k * u);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let exact = 0, abs = 0;
        for (let p = 0; p < k; p++) {
          const x = ta ? a[p * m + i] : a[i * k + p], y = tb ? b[j * k + p] : b[p * n + j];
          exact += x * y; abs += Math.abs(x * y);
        }
        expect(Math.abs(c[i * n + j] - exact)).toBeLessThanOrEqual(gamma * abs + 1e-30);
      }
    }), params);
  });

  it('matmul into an output that aliases an input gives the same bytes as into a fresh one', () => {
    fc.assert(fc.property(dimArb, dimArb, fc.integer(), (m, n, seed) => {
      const a = f32Seeded(m * n, seed), b = f32Seeded(n * n, seed + 1);
      const fresh = bw.matmul(a, b, m, n, n) as Float32Array;
      const aliased = a.slice();
      bw.matmul(aliased, b, m, n, n, { out: aliased });
      expect(Buffer.from(aliased.buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
    }), params);
  });

  it('BitStack at any shape, rank and factor type: products equal the reconstruction, errors are finite and shrink', () => {
    fc.assert(fc.property(dimArb, dimArb, fc.constantFrom<'auto' | number>('auto', 1, 2, 3, 5, 16, 32), fc.constantFrom('int8', 'f16'), fc.integer(),
      (m, n, rank, factors, seed) => {
        const w = f32Seeded(m * n, seed);
        const k = rank === 'auto' ? 'auto' : Math.min(rank, m, n);
        const sm = bw.decompose(w, m, n, { rank: k, factors: factors as 'int8' | 'f16', blocks: 3 });
        try {
          expect(Array.from(sm.relativeErrors).every((e) => Number.isFinite(e) && e >= 0)).toBe(true);
          expect(sm.relativeErrors[2]).toBeLessThanOrEqual(sm.relativeErrors[0] + 1e-6);
          const wb = sm.reconstruct(), x = f32Seeded(n, seed + 2);
          const y = sm.matvec(x);
          let scale = 0;
          for (const v of wb) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < m; i++) {
            let d = 0;
            for (let j = 0; j < n; j++) d += wb[i * n + j] * x[j];
            expect(Math.abs(y[i] - d)).toBeLessThanOrEqual(64 * n * 2 ** -24 * scale * 3 + 1e-6);
          }
        } finally {
          sm.free();
        }
      }), params);
  });

  it('decompose of finite weights never yields NaN or Infinity: a value either decomposes or is a typed error', () => {
    fc.assert(fc.property(dimArb, dimArb, fc.integer({ min: -40, max: 40 }), (m, n, e) => {
      const w = f32Seeded(m * n, m * 131 + n).map((v) => v * 2 ** e);
      typedOnly(() => {
        const sm = bw.decompose(w, m, n, { blocks: 2 });
        expect(sm.reconstruct().every(Number.isFinite)).toBe(true);
        sm.free();
      }, ['NON_FINITE']);
    }), params);
  });
});

function f32Seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s >>> 8) / 2 ** 24 - 0.5; });
}

// ---- Structure-aware fuzzing of the parsers -----------------------------------

const DTYPES = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'F16', 'BF16', 'U32', 'I32', 'F32', 'U64', 'I64', 'F64', 'F8', 'constructor', '__proto__'];
const nameArb = fc.oneof(fc.constantFrom('a', 'x.u_0', 'x.vt_0', 'x.qweight_0', 'x.u_scale_0', 'x.vt_scale_0', 'x.scale', '__proto__', 'constructor', 'toString', '__metadata__', 'x.u_01', 'x.u_1'), fc.string({ maxLength: 8 }));
const entryArb = fc.record({
  name: nameArb,
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.oneof(fc.nat(9), fc.constantFrom(-1, 2 ** 53, 1.5)), { maxLength: 3 }),
  begin: fc.oneof(fc.nat(64), fc.constantFrom(-1, 2 ** 40)),
  len: fc.oneof(fc.nat(64), fc.constant(0)),
});

/** A safetensors file from entries (offsets as given, not necessarily consistent) and some data bytes. */
function rawFile(entries: Array<{ name: string; dtype: string; shape: number[]; begin: number; len: number }>, metadata: unknown, dataLength: number): Uint8Array {
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) header.__metadata__ = metadata;
  for (const e of entries) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.begin + e.len] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('structure-aware fuzzing of the parsers', () => {
  it('safetensors headers: a valid file (every tensor in range, sized by its shape) or a FORMAT error', () => {
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 5 }), fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.nat()))), fc.nat(256),
      (entries, metadata, dataLength) => {
        typedOnly(() => {
          const f = readSafetensors(rawFile(entries, metadata, dataLength));
          for (const t of f.tensors) expect(t.end).toBeLessThanOrEqual(f.data.length);
        }, ['FORMAT']);
      }), params);
  }, fuzzTimeout);

  it('stack files: structural mutations of a valid file read as a stack or end in FORMAT/UNSUPPORTED, and free what they built', () => {
    const m = 12, n = 10;
    const sm = bw.decompose(f32Seeded(m * n, 5), m, n, { blocks: 3 });
    const good = bw.stack({ layer: sm }).toSafetensors({ prepend: [{ name: 'emb', dtype: 'F32', shape: [2], bytes: new Uint8Array(8) }] });
    const parsed = readSafetensors(good);
    sm.free();
    const base = bw.residentBytes;
    const mutation = fc.record({
      drop: fc.option(fc.nat(parsed.tensors.length - 1)),
      rename: fc.option(fc.tuple(fc.nat(parsed.tensors.length - 1), nameArb)),
      reshape: fc.option(fc.tuple(fc.nat(parsed.tensors.length - 1), fc.array(fc.nat(40), { maxLength: 3 }))),
      retype: fc.option(fc.tuple(fc.nat(parsed.tensors.length - 1), fc.constantFrom(...DTYPES))),
      order: fc.option(fc.oneof(fc.constant('[["layer",2],["layer",0]]'), fc.constant('nonsense'), fc.constant('[["x",0]]'))),
      flip: fc.option(fc.tuple(fc.nat(parsed.data.length - 1), fc.nat(7))),
    });
    fc.assert(fc.property(mutation, (mu) => {
      const entries = parsed.tensors.map((t) => ({ name: t.name, dtype: t.dtype as string, shape: t.shape.slice(), begin: t.begin, len: t.end - t.begin }));
      if (mu.rename) entries[mu.rename[0]].name = mu.rename[1];
      if (mu.reshape) entries[mu.reshape[0]].shape = mu.reshape[1];
      if (mu.retype) entries[mu.retype[0]].dtype = mu.retype[1];
      if (mu.drop !== null) entries.splice(mu.drop, 1);
      const meta = { ...parsed.metadata, ...(mu.order ? { order: mu.order } : {}) };
      const file = rawFile(entries, meta, parsed.data.length);
      file.set(parsed.data, file.length - parsed.data.length);
      if (mu.flip) file[file.length - parsed.data.length + mu.flip[0]] ^= 1 << mu.flip[1];
      typedOnly(() => {
        const st = bw.readStack(file);
        for (const s of Object.values(st.matrices)) {
          expect(s.reconstruct().every(Number.isFinite)).toBe(true);
          s.free();
        }
      }, ['FORMAT', 'UNSUPPORTED']);
      expect(bw.residentBytes).toBe(base);
    }), params);
  }, fuzzTimeout);

  it('tfjs manifests: valid tensors, or FORMAT/ARG; readShard never sees a path outside the folder', async () => {
    const weightArb = fc.record({
      name: fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('__proto__', 'constructor')),
      shape: fc.array(fc.oneof(fc.nat(5), fc.constantFrom(-1, 1.5)), { maxLength: 3 }),
      dtype: fc.constantFrom('float32', 'int32', 'bool', 'complex64', 'string'),
      quantization: fc.option(fc.record({ dtype: fc.constantFrom('uint8', 'uint16', 'float16', 'int4'), scale: fc.option(fc.double({ noNaN: true })), min: fc.option(fc.double({ noNaN: true })) }), { nil: undefined }),
    });
    const pathArb = fc.oneof(fc.constantFrom('s0', 's1', 'sub/s2', '../s0', '/etc/passwd', 'a/../b', 'C:\\x', 'http://x/y', ''), fc.string({ maxLength: 6 }));
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ paths: fc.array(pathArb, { maxLength: 3 }), weights: fc.array(weightArb, { maxLength: 4 }) }), { maxLength: 2 }),
      fc.uint8Array({ maxLength: 64 }), async (groups, shard) => {
        const seen: string[] = [];
        try {
          const out = await readTfjsModel({ weightsManifest: groups }, async (p, max) => { seen.push(p); return shard.slice(0, Math.max(0, Math.min(shard.length, max))); });
          for (const t of out) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        } catch (e) {
          if (!(e instanceof BitstackError)) throw e;
          expect(['FORMAT', 'ARG']).toContain(e.code);
        }
        for (const p of seen) expect(p.startsWith('/') || p.split('/').includes('..') || /[\\:]/.test(p)).toBe(false);
      }), params);
  }, fuzzTimeout);

  it('regression files under test/regressions/ still end in typed errors or valid results', () => {
    const dir = new URL('./regressions/', import.meta.url);
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.bin'))) {
      const bytes = new Uint8Array(readFileSync(new URL(name, dir)));
      typedOnly(() => { for (const s of Object.values(bw.readStack(bytes).matrices)) s.free(); }, ['FORMAT', 'UNSUPPORTED']);
      typedOnly(() => readSafetensors(bytes), ['FORMAT']);
    }
  });
});

