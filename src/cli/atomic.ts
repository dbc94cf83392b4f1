// Writing CLI outputs atomically: through a temporary name, renamed into place when whole; removed
// on SIGINT, SIGTERM and SIGHUP; temporary files of killed runs cleaned up.

import { mkdir, open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A file's contents: bytes, text, or a writer that streams them into the open file (from its start). */
export type FileContents = Uint8Array | string | ((file: FileHandle) => Promise<void>);

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Writes bytes (or text) to `path` through a temporary name `<path>.partial-<pid>`, so an interrupted
 * run (SIGINT, SIGTERM, SIGHUP, a full disk) leaves no half-written or empty file; temporary files of
 * runs that were killed (SIGKILL: their process is gone) are removed first.
 */
export async function writeAtomically(path: string, bytes: FileContents): Promise<void> {
  return writeAllAtomically([[path, bytes]]);
}

/** writeAtomically for several files that belong together: all are written, or none. */
export async function writeAllAtomically(files: Array<[string, FileContents]>): Promise<void> {
  const tmps = files.map(([path]) => `${path}.partial-${process.pid}`);
  const removeAll = () => Promise.all(tmps.map((t) => rm(t, { force: true })));
  const cleanup = (signal: NodeJS.Signals) => { removeAll().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15))); };
  for (const s of SIGNALS) process.once(s, cleanup);
  try {
    for (const [i, [path, bytes]] of files.entries()) {
      await mkdir(dirname(path) || '.', { recursive: true });
      await removeStalePartials(path);
      if (typeof bytes === 'function') {
        const file = await open(tmps[i], 'w');
        try { await bytes(file); } finally { await file.close(); }
      } else {
        await writeFile(tmps[i], bytes);
      }
    }
    // Test seam (test/cli.test.ts): hold here, with the temporary files written, until a signal arrives.
    if (process.env.BITSTACK_TEST_HOLD_WRITE === '1') {
      process.stderr.write(`holding ${tmps.join(' ')}\n`);
      await new Promise(() => setInterval(() => {}, 1000));
    }
    for (const [i, [path]] of files.entries()) await rename(tmps[i], path);
  } finally {
    for (const s of SIGNALS) process.off(s, cleanup);
    await removeAll();
  }
}

/** Removes `<path>.partial-<pid>` files whose process no longer runs. */
async function removeStalePartials(path: string): Promise<void> {
  const prefix = `${basename(path)}.partial-`;
  for (const name of await readdir(dirname(path) || '.').catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
    if (!alive) await rm(join(dirname(path) || '.', name), { force: true });
  }
}
