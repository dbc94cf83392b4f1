// Status codes returned by the kernels (src/runtime.ts turns them into typed errors).

export const OK: i32 = 0;
export const OUT_OF_MEMORY: i32 = 1;
/** An argument the facade should have rejected (e.g. no candidate rank fits). */
export const BAD_ARGUMENT: i32 = 2;
/** A result does not fit its storage type (factors beyond f16's range, or a nonzero scale rounding to 0). */
export const NOT_REPRESENTABLE: i32 = 3;
