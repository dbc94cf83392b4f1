// The one suite of test cases, run unchanged in Node, Deno, Chromium and workerd.
//
// A case is { name, run(ctx) }. run() throws on failure and may return the
// typed arrays it produced: the harness hashes their raw bytes (default build
// only), and the hash must equal test/golden.json in every runtime.
// References are computed in plain JS, in float64 (or double-double).

import { cases as matmul } from './cases/matmul.mjs';
import { cases as svd } from './cases/svd.mjs';
import { cases as tfjs } from './cases/tfjs.mjs';
import { cases as dct } from './cases/dct.mjs';
import { cases as bitstack } from './cases/bitstack.mjs';
import { cases as stack } from './cases/stack.mjs';
import { cases as host } from './cases/host.mjs';

export const cases = [...matmul, ...svd, ...dct, ...bitstack, ...stack, ...tfjs, ...host];
