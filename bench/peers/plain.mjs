// Plain-JS peers: a typed-array i-p-j loop, and ml-matrix.
import { Matrix } from 'ml-matrix';

export const plainJs = {
  name: 'plain JS',
  prepare(a, b, m, k, n) {
    const c = new Float32Array(m * n);
    const run = () => {
      c.fill(0);
      for (let i = 0; i < m; i++) {
        const ci = i * n;
        for (let p = 0; p < k; p++) {
          const aip = a[i * k + p], bp = p * n;
          for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
      return c;
    };
    return { run, result: run, dispose() {} };
  },
};

export const mlMatrix = {
  name: 'ml-matrix',
  prepare(a, b, m, k, n) {
    const A = new Matrix(m, k), B = new Matrix(k, n);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) A.set(i, p, a[i * k + p]);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) B.set(p, j, b[p * n + j]);
    const run = () => A.mmul(B);
    return { run, result: () => Float32Array.from(run().to1DArray()), dispose() {} };
  },
};
