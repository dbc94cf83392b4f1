// Deno runner: `deno run -A test/runners/deno.mjs [--json]`.
// `bitstack-wasm` resolves through package.json's `deno` export condition.
import * as api from 'bitstack-wasm';
import { runSuite, formatSuite } from '../harness.mjs';

const result = await runSuite(`deno ${Deno.version.deno}`, api);
console.log(Deno.args.includes('--json') ? JSON.stringify(result) : formatSuite(result));
