// Status codes returned by the kernels (src/runtime.ts turns them into typed errors).

export const OK: i32 = 0;
export const OUT_OF_MEMORY: i32 = 1;
