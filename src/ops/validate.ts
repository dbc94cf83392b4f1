// Argument checks shared by the operations: one message style, one error type.

import { BitstackError } from '../errors.js';
import { WasmMatrix } from '../matrix.js';
import type { Runtime } from '../runtime.js';

/** A dimension: a positive safe integer (zero → EMPTY). Wasm kernels index with i32, so ≤ 2³¹−1. */
export function dim(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new BitstackError('ARG', `${name} must be a non-negative integer, got ${String(v)}`);
  }
  if (v === 0) throw new BitstackError('EMPTY', `${name} is 0: empty matrices are not supported`);
  if (v > 0x7fffffff) throw new BitstackError('TOO_LARGE', `${name} = ${v} exceeds 2^31 - 1`);
  return v;
}

/** A Float32Array of exactly `length` elements. */
export function f32(name: string, v: unknown, length: number, shape: string): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new BitstackError('ARG', `${name} must be a Float32Array, got ${describe(v)}`);
  }
  if (v.length !== length) {
    throw new BitstackError('SHAPE', `${name} has ${v.length} elements, expected ${shape} = ${length}`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** An f32 operand: a Float32Array or a resident WasmMatrix of exactly `length` elements. */
export type F32Operand = Float32Array | WasmMatrix;

/**
 * Checks an operand and returns its pointer in wasm memory: a WasmMatrix is used
 * in place, a Float32Array is copied into the current arena scope.
 */
export function operand(rt: Runtime, name: string, v: unknown, length: number, shape: string): number {
  if (v instanceof WasmMatrix) {
    const ptr = v.pointer(rt, name);
    if (v.length !== length) {
      throw new BitstackError('SHAPE', `${name} is a ${v.rows}×${v.cols} WasmMatrix (${v.length} elements), expected ${shape} = ${length}`);
    }
    return ptr;
  }
  return rt.copyIn(f32(name, v, length, shape));
}

/** Rejects anything that is not an operand, before any allocation. */
export function checkOperand(name: string, v: unknown, length: number, shape: string): void {
  if (v instanceof WasmMatrix) {
    if (v.length !== length) {
      throw new BitstackError('SHAPE', `${name} is a ${v.rows}×${v.cols} WasmMatrix (${v.length} elements), expected ${shape} = ${length}`);
    }
  } else {
    f32(name, v, length, shape);
  }
}

/** A Float32Array or Float64Array of exactly `length` elements. */
export function floats(name: string, v: unknown, length: number, shape: string): Float32Array | Float64Array {
  if (!(v instanceof Float32Array || v instanceof Float64Array)) {
    throw new BitstackError('ARG', `${name} must be a Float32Array or Float64Array, got ${describe(v)}`);
  }
  if (v.length !== length) {
    throw new BitstackError('SHAPE', `${name} has ${v.length} elements, expected ${shape} = ${length}`);
  }
  return v;
}

/** An optional integer option within [lo, hi]. */
export function intOption(name: string, v: unknown, fallback: number, lo: number, hi: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new BitstackError('ARG', `${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/** An options argument: undefined → {}, else it must be an object (null, a number or a string is an ARG error). */
export function options<T extends object>(name: string, v: T | undefined | null): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BitstackError('ARG', `${name} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

/** A boolean option: undefined → fallback, else it must be true or false ('no', 1 … are ARG errors). */
export function boolOption(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new BitstackError('ARG', `${name} must be true or false, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}
