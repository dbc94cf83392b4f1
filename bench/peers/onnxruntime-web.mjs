// onnxruntime-web (wasm backend, SIMD), one thread.
import * as ort from 'onnxruntime-web';
import { oneNodeModel, FLOAT } from './onnx-model.mjs';

export async function loadOrtWeb() {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return {
    name: 'onnxruntime-web',
    detail: `onnxruntime-web ${ort.env.versions?.web ?? ''}, wasm, numThreads=1`,
    ort,
    /**
     * MatMul with the larger operand as an initializer (resident, as model weights are)
     * and the other as the input fed on every run.
     */
    async prepare(a, b, m, k, n) {
      const bResident = k * n >= m * k;
      const model = oneNodeModel({
        op: 'MatMul',
        nodeInputs: ['A', 'B'],
        inputs: [bResident ? ['A', [m, k], FLOAT] : ['B', [k, n], FLOAT]],
        initializers: [bResident ? ['B', [k, n], FLOAT, b] : ['A', [m, k], FLOAT, a]],
        outputs: [['C', [m, n], FLOAT]],
      });
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const feeds = bResident ? { A: new ort.Tensor('float32', a, [m, k]) } : { B: new ort.Tensor('float32', b, [k, n]) };
      return {
        async run() { await session.run(feeds); },
        async result() { return (await session.run(feeds)).C.data; },
        async dispose() { await session.release(); },
      };
    },
  };
}
