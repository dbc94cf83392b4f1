// Builds one-node ONNX models in memory (a minimal protobuf writer): the
// benchmarks feed them to onnxruntime-web, so no model file is needed.

const enc = new TextEncoder();

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

function concat(parts) {
  const len = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Field writers: int (varint), bytes/string/message (length-delimited). */
const fInt = (field, v) => Uint8Array.from([...varint(field << 3), ...varint(v)]);
const fBytes = (field, bytes) => concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
const fStr = (field, s) => fBytes(field, enc.encode(s));
const msg = (...parts) => concat(parts);

export const FLOAT = 1, UINT8 = 2;

function valueInfo(name, dims, elemType = FLOAT) {
  const shape = msg(...dims.map((d) => fBytes(1, fInt(1, d))));
  const tensorType = msg(fInt(1, elemType), fBytes(2, shape));
  return msg(fStr(1, name), fBytes(2, fBytes(1, tensorType)));
}

function tensor(name, dims, dataType, raw) {
  return msg(...dims.map((d) => fInt(1, d)), fInt(2, dataType), fStr(8, name),
    fBytes(9, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)));
}

function attrInt(name, v) {
  return msg(fStr(1, name), fInt(3, v), fInt(20, 2)); // type INT = 2
}

/**
 * A model with one node. inputs/outputs: [name, dims, elemType?]; initializers:
 * [name, dims, dataType, typedArray]; attrs: { name: int }.
 */
export function oneNodeModel({ op, domain = '', opset = 13, inputs, outputs, initializers = [], nodeInputs, attrs = {} }) {
  const node = msg(
    ...nodeInputs.map((n) => fStr(1, n)), ...outputs.map(([n]) => fStr(2, n)),
    fStr(3, 'node0'), fStr(4, op), ...Object.entries(attrs).map(([k, v]) => fBytes(5, attrInt(k, v))), fStr(7, domain),
  );
  const graph = msg(
    fBytes(1, node), fStr(2, 'g'),
    ...initializers.map(([n, d, t, raw]) => fBytes(5, tensor(n, d, t, raw))),
    ...inputs.map(([n, d, t]) => fBytes(11, valueInfo(n, d, t))),
    ...outputs.map(([n, d, t]) => fBytes(12, valueInfo(n, d, t))),
  );
  const opsets = [fBytes(8, msg(fStr(1, ''), fInt(2, opset)))];
  if (domain) opsets.push(fBytes(8, msg(fStr(1, domain), fInt(2, 1))));
  return msg(fInt(1, 8), fStr(2, 'bitstack-wasm-bench'), ...opsets, fBytes(7, graph));
}
