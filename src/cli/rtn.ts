// Round-to-nearest (RTN) quantization: what a user would pick instead of
// BitStack at the same bytes. Groups of 32 consecutive values of a row
// (row-major order), one f16 scale each, symmetric:
//   'absmax'     q ∈ [−(2^(b−1)−1), 2^(b−1)−1], s = max|x| / (2^(b−1)−1)  (plain RTN)
//   'full-range' q ∈ [−2^(b−1), 2^(b−1)−1], s = −x* / 2^(b−1) with x* the value of largest |x|
//                (llama.cpp's Q4_0 trick: the largest value lands on the extra level; stronger)
// and int8 with one f16 scale per row ('per-channel').
// Bits per parameter: b + 16/32 for the group schemes, 8 + 16/n for int8.

import type { Bitstack } from '../core.js';

export interface RtnScheme { label: string; bits: number; group: number; variant: 'absmax' | 'full-range' }

export const RTN_SCHEMES: readonly RtnScheme[] = [
  ...[2, 3, 4].map((bits) => ({ label: `RTN int${bits}-g32`, bits, group: 32, variant: 'absmax' as const })),
  ...[2, 3, 4].map((bits) => ({ label: `RTN int${bits}-g32 full-range`, bits, group: 32, variant: 'full-range' as const })),
  { label: 'RTN int8 per-channel', bits: 8, group: 0, variant: 'absmax' },
];

/** Bits per parameter of a scheme on a matrix with rows of n values. */
export function rtnBits(s: RtnScheme, n: number): number {
  return s.bits + 16 / (s.group || n);
}

/** w (m×n) quantized and dequantized with scheme s. */
export function rtn(bw: Bitstack, w: Float32Array, n: number, s: RtnScheme): Float32Array {
  const group = s.group || n;
  const half = 2 ** (s.bits - 1);
  const qmax = s.variant === 'absmax' ? half - 1 : half;
  const out = new Float32Array(w.length);
  const rows = w.length / n;
  const groupsPerRow = Math.ceil(n / group);
  // Scales of every group first, rounded to f16 in one call.
  const raw = new Float32Array(rows * groupsPerRow);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groupsPerRow; g++) {
      let big = 0;
      for (let j = r * n + g * group, end = r * n + Math.min(n, (g + 1) * group); j < end; j++) if (Math.abs(w[j]) > Math.abs(big)) big = w[j];
      raw[r * groupsPerRow + g] = s.variant === 'absmax' ? Math.abs(big) / qmax : -big / half;
    }
  }
  const scales = bw.fromFloat16(bw.toFloat16(raw));
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groupsPerRow; g++) {
      const d = scales[r * groupsPerRow + g];
      for (let j = r * n + g * group, end = r * n + Math.min(n, (g + 1) * group); j < end; j++) {
        const q = d === 0 ? 0 : Math.max(-qmax, Math.min(half - 1, Math.round(w[j] / d)));
        out[j] = q * d;
      }
    }
  }
  return out;
}
