// The workerd test worker: imports the package's workerd entry (which imports the
// .wasm files as compiled modules) and answers every request with the suite result.
import * as api from '../../build/entry/workerd.js';
import { runSuite } from '../harness.mjs';

export default {
  async fetch() {
    try {
      return Response.json(await runSuite('workerd', api));
    } catch (e) {
      return Response.json({ error: String((e && e.stack) || e) }, { status: 500 });
    }
  },
};
