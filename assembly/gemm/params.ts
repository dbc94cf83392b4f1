// Block sizes of the blocked GEMM (BLIS notation): data, not code.
//   MR×NR  register tile of the micro-kernel
//   KC     depth of one packed panel pair (an MR×KC A panel + a KC×NR B panel stay in L1)
//   MC     rows of A packed at once (MC×KC floats stay in L2)
//   NC     columns of B packed at once (KC×NC floats stay in L3 / main memory)

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 512;
export const MC: i32 = 32;
export const NC: i32 = 4096;

/** Blocks of A·B with kc at most this walk C row-wise (see driver.ts macroKernel). */
export const SHALLOW_K: i32 = 32;
