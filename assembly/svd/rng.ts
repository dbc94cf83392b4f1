// Gaussian numbers for the randomized SVD's sketch, generated inside wasm so
// every runtime draws the same ones: SplitMix64 → uniform (0, 1] → Box–Muller
// with AssemblyScript's own libm (not the host's Math).

let state: u64 = 0;

export function seedRng(seed: u64): void {
  state = seed;
}

@inline function next(): u64 {
  state += 0x9e3779b97f4a7c15;
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Uniform in (0, 1]: 53 random bits. */
@inline function uniform(): f64 {
  return <f64>((next() >> 11) + 1) * 1.1102230246251565e-16; // 2^-53
}

/** Fills x[0..n) (element type T) with independent standard normal numbers. */
export function gaussian<T>(x: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    store<T>(x + <usize>i * sizeof<T>(), <T>(r * Math.cos(t)));
    if (i + 1 < n) store<T>(x + <usize>(i + 1) * sizeof<T>(), <T>(r * Math.sin(t)));
  }
}
