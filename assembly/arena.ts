// Bump allocator over the module's exported memory.
//
// The facade (src/core.ts) owns all allocation: it takes a mark, allocates the
// inputs and outputs of one call, runs the kernel (which may allocate scratch
// here too) and releases back to the mark. Nothing is ever freed individually.
// Every block is 64-byte aligned (one cache line; v128 loads never straddle).

const ALIGN: usize = 64;
const PAGE: usize = 65536;

let top: usize = 0;

@inline function alignUp(x: usize): usize {
  return (x + ALIGN - 1) & ~(ALIGN - 1);
}

@inline function base(): usize {
  return alignUp(__heap_base);
}

/** Returns a 64-byte aligned block of `bytes` bytes, or 0 when memory cannot grow. */
export function alloc(bytes: usize): usize {
  if (top == 0) top = base();
  const ptr = top;
  // Overflow-safe end computation: wasm32 addresses stop at 4 GiB.
  if (bytes > <usize>0xFFFF_0000 - ptr) return 0;
  const end = alignUp(ptr + bytes);
  const have = (<usize>memory.size()) * PAGE;
  if (end > have) {
    const pages = <i32>((end - have + PAGE - 1) / PAGE);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return ptr;
}

/** Current top of the arena; pass it to `release` to free everything allocated since. */
export function mark(): usize {
  if (top == 0) top = base();
  return top;
}

/** Frees every block allocated after `m` was taken. */
export function release(m: usize): void {
  top = m < base() ? base() : m;
}

/** Frees everything. */
export function reset(): void {
  top = base();
}
