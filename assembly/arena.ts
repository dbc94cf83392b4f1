// Bump allocator over the module's exported memory: the scratch arena.
//
// Memory above the static data is split in two: [heap base, floor) holds
// long-lived buffers that the facade manages itself (src/heap.ts: resident
// matrices), and [floor, top) is the scratch arena of the current call. The
// facade takes a mark, allocates a call's inputs and outputs, runs the kernel
// (which may allocate its own scratch here) and releases back to the mark.
// Every block is 64-byte aligned (one cache line; v128 loads never straddle).

const ALIGN: usize = 64;
const PAGE: usize = 65536;

let floor: usize = 0;
let top: usize = 0;

@inline function alignUp(x: usize): usize {
  return (x + ALIGN - 1) & ~(ALIGN - 1);
}

@inline function ensureInit(): void {
  if (floor == 0) {
    floor = alignUp(__heap_base);
    top = floor;
  }
}

/** Makes [0, end) addressable, growing memory if needed. False when the host refuses. */
function reserve(end: usize): bool {
  const have = (<usize>memory.size()) * PAGE;
  if (end <= have) return true;
  const pages = <i32>((end - have + PAGE - 1) / PAGE);
  return memory.grow(pages) >= 0;
}

/** Returns a 64-byte aligned block of `bytes` bytes, or 0 when memory cannot grow. */
export function alloc(bytes: usize): usize {
  ensureInit();
  const ptr = top;
  // Overflow-safe: wasm32 addresses stop at 4 GiB.
  if (bytes > <usize>0xFFFF_0000 - ptr) return 0;
  const end = alignUp(ptr + bytes);
  if (!reserve(end)) return 0;
  top = end;
  if (end > peak) peak = end;
  return ptr;
}

/**
 * Arena bytes one alloc(bytes) takes. The kernels' size queries add these up in f64, so
 * that a problem too large for wasm32 gets a size above 4 GiB instead of a wrapped one.
 */
@inline export function paddedBytes(bytes: f64): f64 {
  return Math.ceil(bytes / <f64>ALIGN) * <f64>ALIGN;
}

let peak: usize = 0;

/** Highest top of the arena since arena_peak_reset(): tests check the size queries against it. */
export function arena_peak(): usize {
  ensureInit();
  return peak > top ? peak : top;
}

/** Starts a new arena_peak() measurement at the current top. */
export function arena_peak_reset(): void {
  ensureInit();
  peak = top;
}

/** Current top of the arena; pass it to `release` to free everything allocated since. */
export function mark(): usize {
  ensureInit();
  return top;
}

/** Frees every block allocated after `m` was taken (never below the floor). */
export function release(m: usize): void {
  ensureInit();
  top = m < floor ? floor : m;
}

/** First byte the facade's long-lived heap may use (64-byte aligned). */
export function heap_base(): usize {
  return alignUp(__heap_base);
}

/**
 * Moves the floor of the scratch arena to `f` (64-byte aligned, ≥ heap_base()):
 * the facade's long-lived heap owns everything below it. Also resets the arena.
 * Returns false (and changes nothing) when memory cannot grow to `f`.
 */
export function set_floor(f: usize): bool {
  ensureInit();
  if (f < heap_base()) f = heap_base();
  if (!reserve(f)) return false;
  floor = f;
  top = f;
  return true;
}
