// A `.wasm` import yields a compiled module (workerd, and bundlers configured that way).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
