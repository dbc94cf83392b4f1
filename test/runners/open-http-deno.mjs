// `deno run -A test/runners/open-http-deno.mjs <base>`: openStack against the test server, in Deno (Cache Storage).
import * as api from 'bitstack-wasm';
import { runOpenHttp } from '../http/open-http.mjs';

const name = `bitstack-open-test-${Date.now()}`;
const bw = await api.init();
try {
  console.log(JSON.stringify(await runOpenHttp({ bw, base: Deno.args[0], cache: name })));
} finally {
  await caches.delete(name);
}
