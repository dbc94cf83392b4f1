// Names the public types take from the DOM lib: declared as empty interfaces, which merge with the
// real ones wherever a consumer has them (lib DOM, @types/node), so that the published types also
// compile in a program without the DOM lib.

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebAssembly {
    interface Module {}
    interface Instance {}
    interface Memory {}
    interface Global {}
  }
  interface Response {}
  interface URL {}
  interface ReadableStream<R = any> {}
  interface AbortSignal {}
  interface Blob {}
}

export {};
