// openStack in Node, what the cross-runtime suite (open-http.test.ts) cannot see from the client:
// the size of every request the server answered, and the non-URL sources (Response, Blob, reader).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { init, type Bitstack, type LiveStack } from 'bitstack-wasm';
// @ts-expect-error plain ESM shared with the other runtimes
import { startStackServer } from './http/stack-server.mjs';
// @ts-expect-error plain ESM shared with the other runtimes
import { sameAsWhole } from './http/open-http.mjs';

let bw: Bitstack;
let server: { base: string; served: Array<{ mode: string; range?: string; bytes: number }>; files: Record<number, Uint8Array>; reset(): void; close(): Promise<void> };
let file: Uint8Array;

beforeAll(async () => {
  bw = await init();
  server = await startStackServer(bw);
  file = server.files[1];
});
afterAll(() => server.close());

const sameAsReadStack = (live: LiveStack) => sameAsWhole(bw, live, file);

describe('openStack (Node)', () => {
  it('after the header\'s read, no request above requestBytes but a single larger block; every byte once', async () => {
    server.reset();
    const live = await bw.openStack(`${server.base}/range`, { requestBytes: 1024 });
    await live.loaded;
    expect(live.bytesRead).toBe(file.length);
    expect(server.served.reduce((s, r) => s + r.bytes, 0)).toBe(file.length);
    const blockMax = Math.max(...Object.values(live.matrices).map((m) => Math.max(...Array.from({ length: m.blockCount }, (_, i) => m.blockByteLength(i)))));
    expect(server.served[0].bytes).toBe(1 << 16);
    for (const r of server.served.slice(1)) expect(r.bytes).toBeLessThanOrEqual(Math.max(1024, blockMax));
    sameAsReadStack(live);
    for (const sm of Object.values(live.matrices)) sm.free();
  });

  it('a Response, a Blob and a reader load the same stack as a URL', async () => {
    for (const source of [await fetch(`${server.base}/no-range`), new Blob([file]), async (o: number, l: number) => file.slice(o, o + l)]) {
      const live = await bw.openStack(source as never, { requestBytes: 512 });
      await live.loaded;
      expect(Object.entries(live.matrices).map(([n, m]) => `${n}:${m.blockCount}`).sort()).toEqual(['__proto__:3', 'a:5', 'b:4', 'c:3']);
      sameAsReadStack(live);
      for (const sm of Object.values(live.matrices)) sm.free();
    }
  });

  it('bad options are ARG errors; a cache needs a key for a Blob or a reader', async () => {
    const blob = new Blob([file]);
    await expect(bw.openStack(blob, { cache: 42 as never })).rejects.toMatchObject({ code: 'ARG' });
    await expect(bw.openStack(blob, { cache: '/tmp/x' })).rejects.toMatchObject({ code: 'ARG', message: /cacheKey/ });
    await expect(bw.openStack(blob, { cacheKey: '' })).rejects.toMatchObject({ code: 'ARG' });
    const live = await bw.openStack(`${server.base}/range`);
    expect(() => live.snapshot()).toThrow(/not ready/);
    await live.ready;
    expect(live.snapshot().order.length).toBeGreaterThan(0);
    await live.loaded;
    for (const sm of Object.values(live.matrices)) sm.free();
  });
});

describe('Node Buffers (views into a larger ArrayBuffer, whose slice() shares memory)', () => {
  it('readStack and openStack from a reader read a Buffer like a Uint8Array', async () => {
    const pooled = Buffer.concat([Buffer.alloc(13, 7), Buffer.from(file), Buffer.alloc(5, 9)]).subarray(13, 13 + file.length);
    expect(pooled.byteOffset).toBe(13);
    const whole = bw.readStack(file), fromBuffer = bw.readStack(pooled);
    const live = await bw.openStack(async (o: number, l: number) => pooled.subarray(o, o + l), { requestBytes: 700 });
    await live.loaded;
    for (const [name, sm] of Object.entries(whole.matrices)) {
      const want = Buffer.from(sm.reconstruct().buffer);
      expect(Buffer.from(fromBuffer.matrices[name].reconstruct().buffer)).toEqual(want);
      expect(Buffer.from(live.matrices[name].reconstruct().buffer)).toEqual(want);
    }
    for (const s of [whole, fromBuffer, live]) for (const sm of Object.values(s.matrices)) sm.free();
  });
});
