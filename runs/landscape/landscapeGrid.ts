// The grid of a 2-D landscape: n x n points (a, b) evenly spaced over [-range, range]^2 (a 1-D slice when the second
// direction is absent), evaluated at theta + a*d1 + b*d2 in row-major order (b outer, a inner), so that any split of
// the points into chunks evaluates each at exactly the same parameters and gives the same numbers.
import type { ParameterSpace } from './parameterSpace.ts';

export interface GridAxes {
  /** Coordinates along d1 (and d2), ascending, centre included when n is odd. */
  a: number[];
  b: number[];
}

/** n evenly spaced coordinates over [-range, range]. */
export function axisCoordinates(n: number, range: number): number[] {
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, i) => -range + (2 * range * i) / (n - 1));
}

/** The grid's axes; `twoD` false gives a 1-D slice along d1. */
export function gridAxes(n: number, range: number, twoD: boolean): GridAxes {
  return { a: axisCoordinates(n, range), b: twoD ? axisCoordinates(n, range) : [0] };
}

/** theta + a*d1 + b*d2 (d2 may be null). */
export function displaced(theta: Float32Array, d1: Float32Array, d2: Float32Array | null, a: number, b: number): Float32Array {
  const out = new Float32Array(theta.length);
  for (let i = 0; i < theta.length; i++) out[i] = theta[i] + a * d1[i] + (d2 ? b * d2[i] : 0);
  return out;
}

/**
 * Evaluates the points `from` to `to` (exclusive) of the row-major grid; `onPoint` sees each result as it comes.
 * Leaves the space at theta.
 */
export function evaluateGrid(space: ParameterSpace, theta: Float32Array, d1: Float32Array, d2: Float32Array | null, axes: GridAxes,
  range: { from: number; to: number }, onPoint?: (index: number, values: Record<string, number>) => void): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  try {
    for (let index = range.from; index < range.to; index++) {
      const a = axes.a[index % axes.a.length];
      const b = axes.b[Math.floor(index / axes.a.length)];
      space.set(displaced(theta, d1, d2, a, b));
      const values = space.evaluate();
      out.push(values);
      onPoint?.(index, values);
    }
  } finally {
    space.set(theta);
  }
  return out;
}
