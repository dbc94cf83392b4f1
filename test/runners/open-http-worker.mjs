// workerd: openStack against the test server (env.BASE), with Cache Storage.
import * as api from '../../build/entry/workerd.js';
import { runOpenHttp } from '../http/open-http.mjs';

export default {
  async fetch(_req, env) {
    try {
      const bw = await api.init();
      return Response.json(await runOpenHttp({ bw, base: env.BASE, cache: 'bitstack-open-test' }));
    } catch (e) {
      return Response.json([{ name: 'worker', ok: false, error: String((e && e.stack) || e) }]);
    }
  },
};
