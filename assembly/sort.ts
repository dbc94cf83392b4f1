// Stable index sort by f64 key, descending (ties keep index order): bottom-up
// merge sort, O(n log n), no recursion, deterministic.

/** Sorts idx[0..n) by keys[idx[i]] descending; `tmp`: n i32 slots of scratch. */
export function sortIndexDesc(keys: usize, idx: usize, n: i32, tmp: usize): void {
  let src = idx, dst = tmp;
  for (let width = 1; width < n; width <<= 1) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = min(lo + width, n), hi = min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const a = load<i32>(src + (<usize>i << 2)), b = load<i32>(src + (<usize>j << 2));
        // Take from the right run only when strictly larger: stability.
        if (load<f64>(keys + (<usize>b << 3)) > load<f64>(keys + (<usize>a << 3))) {
          store<i32>(dst + (<usize>(k++) << 2), b); j++;
        } else {
          store<i32>(dst + (<usize>(k++) << 2), a); i++;
        }
      }
      while (i < mid) { store<i32>(dst + (<usize>(k++) << 2), load<i32>(src + (<usize>i << 2))); i++; }
      while (j < hi) { store<i32>(dst + (<usize>(k++) << 2), load<i32>(src + (<usize>j << 2))); j++; }
    }
    const t = src; src = dst; dst = t;
  }
  if (src != idx) memory.copy(idx, src, <usize>n << 2);
}
