// openStack against the misbehaving server of stack-server.mjs, in whatever runtime imports this
// (Node, Deno, Chromium, workerd): Range and streamed loading, budgets, every bad-server mode, abort,
// and the cache (offline reopen, resumption, a changed file discarded). Returns one result per check.

const assert = (cond, message) => { if (!cond) throw new Error(message); };

async function expectCode(promise, code, pattern) {
  try {
    await promise;
  } catch (e) {
    assert(e && e.name === 'BitstackError' && e.code === code, `expected ${code}, got ${e && e.code}: ${e && e.message}`);
    if (pattern) assert(pattern.test(e.message), `message ${JSON.stringify(e.message)} does not match ${pattern}`);
    return e;
  }
  throw new Error(`expected a ${code} error`);
}

/** The live stack's products equal readStack's at the same block counts, bit for bit. */
export function sameAsWhole(bw, live, file) {
  const whole = bw.readStack(file);
  try {
    for (const [name, sm] of Object.entries(live.matrices)) {
      const count = live.loadedBlocks(name);
      const x = new Float32Array(sm.cols).map((_, i) => Math.sin(i));
      const y = sm.matvec(x), want = whole.matrices[name].matvec(x, count);
      assert(y.every((v, i) => Object.is(v, want[i])), `${name}: matvec differs from readStack at ${count} blocks`);
      const r = sm.reconstruct(), wr = whole.matrices[name].reconstruct(count);
      assert(r.every((v, i) => Object.is(v, wr[i])), `${name}: reconstruct differs from readStack at ${count} blocks`);
    }
  } finally {
    for (const sm of Object.values(whole.matrices)) sm.free();
  }
}

const free = (live) => { for (const sm of Object.values(live.matrices)) sm.free(); };
const counts = (live) => Object.entries(live.matrices).map(([n, m]) => `${n}:${m.blockCount}`).sort().join(' ');

/** `cache`: a cache name or store for this runtime (undefined: the cache checks are skipped). */
export async function runOpenHttp({ bw, base, cache }) {
  const control = (q) => fetch(`${base}/control?${q}`).then((r) => r.text());
  await control('offline=0&version=1');
  const file = new Uint8Array(await (await fetch(`${base}/file`)).arrayBuffer());
  const headerBytes = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
  const checks = [];
  const check = (name, fn) => checks.push({ name, fn });

  check('Range requests: ready at minBlocks, then every block once, readStack\'s bytes', async () => {
    const blocks = [];
    let last;
    const live = await bw.openStack(`${base}/range`, { requestBytes: 1024, onProgress: (p) => { last = p; }, onBlock: (n, b) => blocks.push(`${n}:${b}`) });
    assert(live.order.length === 15 && live.bytesPlanned === file.length, `plan: ${live.order.length} blocks, ${live.bytesPlanned} bytes`);
    await live.ready;
    for (const name of ['a', 'b', 'c', '__proto__']) assert(live.loadedBlocks(name) >= 1, `${name} has a block when ready`);
    assert(Object.getPrototypeOf(live.matrices) === null, 'matrices: no prototype');
    assert(Array.from(new Float32Array(live.tensors.embeddings.bytes.slice().buffer)).slice(0, 3).join() === '0,1,2', 'kept tensor');
    await live.loaded;
    assert(counts(live) === '__proto__:3 a:5 b:4 c:3', counts(live));
    assert(blocks.length === 15 && last.blocks === 15 && last.bytes === file.length, `progress: ${blocks.length} blocks, ${JSON.stringify(last)}`);
    assert(live.bytesRead === file.length, `every byte fetched once: ${live.bytesRead} of ${file.length}`);
    assert(live.snapshot().order.length === 15, 'snapshot');
    sameAsWhole(bw, live, file);
    free(live);
  });

  check('a budget loads the strict prefix, fetching at most budget + header + one request', async () => {
    const whole = bw.readStack(file);
    const full = whole.bytesFor(Object.fromEntries(Object.entries(whole.matrices).map(([n, m]) => [n, m.blockCount])));
    const budget = Math.floor((whole.minimumBytes() + full) / 2);
    const want = whole.selectForBudget(budget, { fill: false });
    for (const sm of Object.values(whole.matrices)) sm.free();
    const live = await bw.openStack(`${base}/range`, { budget, requestBytes: 2048 });
    await live.loaded;
    for (const name of Object.keys(want)) assert(live.loadedBlocks(name) === want[name], `${name}: ${live.loadedBlocks(name)} blocks, want ${want[name]}`);
    assert(live.bytesRead <= budget + headerBytes + 2048 + (1 << 16), `fetched ${live.bytesRead} for a budget of ${budget}`);
    sameAsWhole(bw, live, file);
    free(live);
    await expectCode(bw.openStack(`${base}/range`, { budget: 10 }), 'BUDGET');
  });

  check('a server that ignores Range is read as a stream and stopped at the budget', async () => {
    const live = await bw.openStack(`${base}/no-range`, { requestBytes: 512 });
    await live.loaded;
    assert(counts(live) === '__proto__:3 a:5 b:4 c:3', counts(live));
    sameAsWhole(bw, live, file);
    free(live);
  });

  for (const [mode, why] of [
    ['bad-range', /bad Content-Range/], ['short', /short read|sent bytes/], ['etag-change', /ETag changed/],
    ['size-change', /size went from/], ['404-later', /HTTP 404/], ['500-later', /HTTP 500/],
  ]) {
    check(`${mode}: a typed error, no block half applied`, async () => {
      const live = await bw.openStack(`${base}/${mode}`, { requestBytes: 256 });
      const err = await expectCode(live.loaded, 'FORMAT', why);
      await live.ready.catch(() => {});
      assert(live.ready !== undefined && err, 'error kept in loaded');
      sameAsWhole(bw, live, file); // whatever joined is whole blocks
      free(live);
    });
  }

  check('abort: ABORTED with the signal\'s reason, nothing left resident', async () => {
    const resident = bw.residentBytes;
    const controller = new AbortController();
    const live = await bw.openStack(`${base}/slow`, { requestBytes: 128, signal: controller.signal });
    setTimeout(() => controller.abort('enough'), 40);
    const err = await expectCode(live.loaded, 'ABORTED');
    assert(err.cause === 'enough', `cause ${err.cause}`);
    sameAsWhole(bw, live, file);
    free(live);
    assert(bw.residentBytes === resident, 'no resident bytes left');
  });

  check('offline without a cache: a typed error', async () => {
    await control('offline=1');
    try {
      await expectCode(bw.openStack(`${base}/range`), 'FORMAT', /failed/);
    } finally {
      await control('offline=0');
    }
  });

  if (cache !== undefined) {
    check('cache: a second open works offline, a larger one resumes, a changed file is discarded', async () => {
      const whole = bw.readStack(file);
      const full = whole.bytesFor(Object.fromEntries(Object.entries(whole.matrices).map(([n, m]) => [n, m.blockCount])));
      const budget = Math.floor((whole.minimumBytes() + full) / 2);
      for (const sm of Object.values(whole.matrices)) sm.free();
      const url = `${base}/range`;
      const opts = { cache, budget, requestBytes: 2048 };
      // 1. Online: everything from the network, kept.
      const one = await bw.openStack(url, opts);
      await one.loaded;
      assert(one.bytesFromCache === 0 && one.bytesRead >= one.bytesPlanned - headerBytes, `first open: ${one.bytesRead} fetched, ${one.bytesFromCache} cached`);
      assert(one.offline === false, 'first open: not offline');
      const first = counts(one);
      free(one);
      // 2. Offline: the same budget from the cache alone.
      await control('offline=1');
      try {
        const two = await bw.openStack(url, opts);
        await two.loaded;
        assert(two.bytesRead === 0 && two.bytesFromCache >= two.bytesPlanned, `offline open: ${two.bytesRead} fetched, ${two.bytesFromCache} cached of ${two.bytesPlanned}`);
        assert(two.offline === true, 'offline open: stack.offline');
        assert(counts(two) === first, `offline: ${counts(two)} vs ${first}`);
        sameAsWhole(bw, two, file);
        free(two);
        // Offline, a budget beyond the cache: ready from the cache, then a typed error.
        const more = await bw.openStack(url, { cache, requestBytes: 2048 });
        await expectCode(more.loaded, 'FORMAT', /failed/);
        sameAsWhole(bw, more, file);
        free(more);
      } finally {
        await control('offline=0');
      }
      // 3. Online, the whole file: the cached prefix is not fetched again.
      const three = await bw.openStack(url, { cache, requestBytes: 2048 });
      await three.loaded;
      assert(three.bytesFromCache >= one.bytesPlanned - (1 << 16), `resumed: ${three.bytesFromCache} bytes from the cache`);
      assert(three.bytesRead <= file.length - one.bytesPlanned + headerBytes + (1 << 16) + 2048, `resumed: ${three.bytesRead} fetched`);
      assert(counts(three) === '__proto__:3 a:5 b:4 c:3', counts(three));
      sameAsWhole(bw, three, file);
      free(three);
      // 4. The file changes (new ETag, new header): the cache is discarded, the new file loaded.
      await control('version=2');
      try {
        const file2 = new Uint8Array(await (await fetch(`${base}/file`)).arrayBuffer());
        const four = await bw.openStack(url, { cache, requestBytes: 2048 });
        await four.loaded;
        assert(four.bytesFromCache === 0, `a changed file is not served from the cache (${four.bytesFromCache} bytes)`);
        sameAsWhole(bw, four, file2);
        free(four);
      } finally {
        await control('version=1');
      }
      // 5. A header longer than the first read: cached whole, so that an offline open can parse it.
      await control('version=3');
      try {
        const file3 = new Uint8Array(await (await fetch(`${base}/file`)).arrayBuffer());
        assert(Number(new DataView(file3.buffer).getBigUint64(0, true)) > 1 << 16, 'version 3 has a long header');
        const five = await bw.openStack(url, { cache, requestBytes: 2048 });
        await five.loaded;
        free(five);
        await control('offline=1');
        const six = await bw.openStack(url, { cache, requestBytes: 2048 });
        await six.loaded;
        assert(six.bytesRead === 0, `offline: ${six.bytesRead} bytes fetched`);
        sameAsWhole(bw, six, file3);
        free(six);
      } finally {
        await control('offline=0&version=1');
      }
    });
  }

  const results = [];
  for (const c of checks) {
    try {
      await c.fn();
      results.push({ name: c.name, ok: true });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: String((e && e.stack) || e) });
    }
  }
  return results;
}
