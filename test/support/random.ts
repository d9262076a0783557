// Seeded inputs for tests, so values and initial weights are identical on every backend and every run. The
// generators are the data pipeline's own (datasets/random.ts).
import { normalStream, permutation, uniformStream } from '../../datasets/random.ts';

/** Uniform numbers in [0, 1) from a seed. */
export function seededUniform(seed: number): () => number {
  return uniformStream(seed);
}

/** Standard normal samples from a seed. */
export function seededNormal(seed: number): () => number {
  return normalStream(uniformStream(seed));
}

/** `n` samples of `next` as a Float32Array, scaled. */
export function randomValues(n: number, next: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => next() * scale);
}

/** A seeded permutation of 0..n-1. */
export function seededPermutation(n: number, seed: number): Int32Array {
  return permutation(n, uniformStream(seed));
}
