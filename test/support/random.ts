// A seeded PRNG for tests, so inputs and initial weights are identical on every backend and every run.

/** mulberry32: a small 32-bit generator; returns uniform numbers in [0, 1). */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from a uniform generator. */
export function seededNormal(seed: number): () => number {
  const uniform = seededUniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** `n` samples of `next` as a Float32Array, scaled. */
export function randomValues(n: number, next: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => next() * scale);
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function seededPermutation(n: number, seed: number): Int32Array {
  const uniform = seededUniform(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
