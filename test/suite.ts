// Turns one runtime's suite result into vitest tests: one per case on the default
// build, one per case on the relaxed build (skipped where unsupported), and the
// golden-hash comparison that proves every runtime computes the same bytes.

import { describe, it, beforeAll, expect } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
// @ts-expect-error plain ESM shared with the browser, Deno and workerd runners
import { cases } from './cases.mjs';
// @ts-expect-error plain ESM shared with the browser, Deno and workerd runners
import { formatSuite } from './harness.mjs';

interface CaseResult { name: string; ok: boolean; hash?: string | null; error?: string }
export interface SuiteResult { runtime: string; simd: CaseResult[]; relaxed: CaseResult[] | null; threads: number; threaded: CaseResult[] | null; suiteHash: string }

export const GOLDEN_URL = new URL('./golden.json', import.meta.url);

/**
 * `threaded`: whether this runtime must run the threads build (Node, Deno, a cross-origin isolated
 * page) or must fall back to one thread (workerd, JavaScriptCore's shell).
 */
export function defineRuntimeSuite(label: string, obtain: () => Promise<SuiteResult>, threaded = false): void {
  describe(label, () => {
    let result: SuiteResult;
    beforeAll(async () => {
      result = await obtain();
      console.log(formatSuite(result));
      await mkdir(new URL('../build/test-results/', import.meta.url), { recursive: true });
      await writeFile(new URL(`../build/test-results/${label}.json`, import.meta.url), JSON.stringify(result, null, 1));
    });

    const find = (list: CaseResult[], name: string) => {
      const r = list.find((x) => x.name === name);
      if (!r) throw new Error(`case "${name}" did not run in ${label}`);
      if (!r.ok) throw new Error(r.error);
      return r;
    };

    for (const c of cases as { name: string }[]) {
      it(c.name, () => {
        find(result.simd, c.name);
      });
    }
    for (const c of cases as { name: string }[]) {
      it(`relaxed build: ${c.name}`, (ctx) => {
        if (!result.relaxed) ctx.skip();
        else find(result.relaxed, c.name);
      });
    }
    it(threaded ? 'init({ threads: 2 }) runs 2 threads here' : 'init({ threads: 2 }) falls back to one thread here', () => {
      expect(result.threads).toBe(threaded ? 2 : 1);
      expect(result.threaded === null).toBe(!threaded);
    });
    for (const c of cases as { name: string }[]) {
      it(`threads build: ${c.name}`, (ctx) => {
        if (!result.threaded) ctx.skip();
        else find(result.threaded, c.name);
      });
    }
    it('threads build: output hashes equal the one-thread build\'s (and golden.json)', async (ctx) => {
      if (!result.threaded) return ctx.skip();
      const golden: Record<string, string> = JSON.parse(await readFile(GOLDEN_URL, 'utf8')).hashes;
      const got: Record<string, string> = {};
      for (const r of result.threaded) if (r.hash) got[r.name] = r.hash;
      expect(got).toEqual(golden);
    });
    it('output hashes equal test/golden.json (bit-identical in every runtime)', async () => {
      const golden: Record<string, string> = JSON.parse(await readFile(GOLDEN_URL, 'utf8')).hashes;
      const got: Record<string, string> = {};
      for (const r of result.simd) if (r.hash) got[r.name] = r.hash;
      expect(got).toEqual(golden);
    });
  });
}
