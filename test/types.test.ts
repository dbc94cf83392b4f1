// The published types (build/**/*.d.ts, internals stripped) compile in a consumer program under strict
// settings, skipLibCheck off, with moduleResolution node16 and bundler, with and without the DOM lib
// (bare ES2022, or with @types/node), and no esnext.disposable lib.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { init } from 'bitstack-wasm';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const dir = new URL('../build/types-test/', import.meta.url);
const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', root));

const consumer = `import { init, BitstackError, type Bitstack, type StackedMatrix, type DecomposeOptions } from 'bitstack-wasm';
import { init as coreInit, readSafetensors } from 'bitstack-wasm/core';
const bw: Bitstack = await init();
const c = bw.matmul(new Float32Array(4), new Float32Array(4), 2, 2, 2);
const opts: DecomposeOptions = { rank: 'auto', factors: 'int8', blocks: 4 };
const sm: StackedMatrix = bw.decompose(new Float32Array(64), 8, 8, opts);
const st = bw.stack({ a: sm });
const counts: Record<string, number> = st.selectForBudget(st.budgetForBits(4), { minBlocks: 1, fill: true });
const m = bw.matrix(new Float32Array(4), 2, 2);
m.free();
export const used = [c, counts, BitstackError, coreInit, readSafetensors, sm.ranks, st.keptBytes];
`;

describe('published types', () => {
  const variants = [
    { lib: ['ES2022', 'DOM'], types: [] as string[], label: 'lib ES2022 + DOM' },
    { lib: ['ES2022'], types: [] as string[], label: 'lib ES2022 only, no DOM' },
    { lib: ['ES2022'], types: ['node'], label: 'lib ES2022 + @types/node, no DOM' },
  ];
  for (const mode of ['node16', 'bundler'] as const) for (const [i, v] of variants.entries()) {
    it(`compile in a strict consumer (moduleResolution ${mode}, ${v.label}, skipLibCheck false)`, async () => {
      await mkdir(dir, { recursive: true });
      await writeFile(new URL('consumer.ts', dir), consumer);
      const config = new URL(`tsconfig.${mode}.${i}.json`, dir);
      await writeFile(config, JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: v.lib, types: v.types,
          typeRoots: [fileURLToPath(new URL('node_modules/@types', root))],
          module: mode === 'node16' ? 'Node16' : 'ESNext', moduleResolution: mode,
        },
        files: ['consumer.ts'],
      }));
      const r = await run(process.execPath, [tsc, '-p', fileURLToPath(config)]).catch((e) => e);
      expect(`${r.stdout ?? ''}${r.stderr ?? ''}`).toBe('');
    }, 120_000);
  }

  it("the main entry's types describe the main entry's init (not ./core's)", async () => {
    const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
    const dts = await readFile(new URL(pkg.exports['.'].types, root), 'utf8');
    expect(dts).toMatch(/Instantiates the kernels: `await init\(\)` for the default deterministic build\.\s*\*\/\s*export declare const init/);
  });

  it('internals are stripped from the declarations', async () => {
    const dts = await readFile(new URL('build/matrix.d.ts', root), 'utf8') + await readFile(new URL('build/ops/bitstack.d.ts', root), 'utf8');
    for (const internal of ['packedB', 'dropPacked', 'pointer(', 'fromBlocks', 'constructor(']) expect(dts).not.toContain(internal);
  });

  it('a WasmMatrix is disposable where the host has Symbol.dispose (using)', async () => {
    const bw = await init();
    const m = bw.matrix(new Float32Array(4), 2, 2);
    const dispose = (Symbol as { dispose?: symbol }).dispose;
    if (!dispose) return;
    (m as unknown as Record<symbol, () => void>)[dispose]();
    expect(m.freed).toBe(true);
  });
});
