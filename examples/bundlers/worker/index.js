// A Cloudflare Worker using bitstack-wasm, bundled by wrangler: the package's `workerd` entry imports
// the .wasm as a module (workerd compiles no wasm from bytes at run time); init lazily, once.
import { init } from 'bitstack-wasm';

let kernels;

export default {
  async fetch() {
    kernels ??= init();
    const bw = await kernels;
    const c = bw.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([7, 8, 9, 10, 11, 12]), 2, 3, 2);
    return new Response(`C = ${Array.from(c).join(', ')}`);
  },
};
