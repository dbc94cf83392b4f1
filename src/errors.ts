/**
 * What went wrong, as a stable machine-readable code:
 * - `ARG`           an argument has the wrong type or an invalid value (negative or fractional size, unknown option)
 * - `SHAPE`         an array's length does not match the dimensions given with it
 * - `EMPTY`         a dimension is zero
 * - `NON_FINITE`    the input holds NaN or ±Infinity where the maths needs finite numbers
 * - `TOO_LARGE`     the problem does not fit the 4 GiB address space of a wasm32 module
 * - `OUT_OF_MEMORY` the module's memory could not grow (the host refused)
 * - `UNSUPPORTED`   the runtime lacks a WebAssembly feature this call needs (SIMD128, relaxed SIMD)
 * - `WASM`          the module given to `init` is not a bitstack-wasm kernels module
 * - `FORMAT`        a model file or manifest is malformed (bad header, dtype, shape or byte range)
 * - `ABORTED`       an async call was cancelled through its AbortSignal (`cause`: the signal's reason)
 * - `BUDGET`        a memory budget is below what a working model needs (the message gives the minimum)
 */
export type BitstackErrorCode =
  | 'ARG'
  | 'SHAPE'
  | 'EMPTY'
  | 'NON_FINITE'
  | 'TOO_LARGE'
  | 'OUT_OF_MEMORY'
  | 'UNSUPPORTED'
  | 'WASM'
  | 'FORMAT'
  | 'ABORTED'
  | 'BUDGET';

/** The only error type the library throws on bad input or an unusable runtime. */
export class BitstackError extends Error {
  readonly code: BitstackErrorCode;
  constructor(code: BitstackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BitstackError';
    this.code = code;
  }
}
