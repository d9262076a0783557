// Test data for the engine suites: a seeded PRNG, inputs kept as plain JS arrays (so that every backend gets the
// very same numbers) with factories that make tensors of them on whichever backend is active, and the comparison
// of kernel outputs.
import * as tf from '@tensorflow/tfjs-core';

import { seededUniform } from '../../support/random.ts';

export type DType = 'float32' | 'int32' | 'bool';

/** The shared seeded generator (test/support/random.ts) with the draws these suites need. */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = seededUniform(seed);
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((hi - lo) * this.next());
  }

  shuffle<T>(xs: T[]): T[] {
    const out = xs.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor factory: the same values on every call, created on the current backend. */
export type Make<T extends tf.Tensor = tf.Tensor> = (() => T) & { values: number[]; shape: number[]; dtype: DType };

export function make<T extends tf.Tensor = tf.Tensor>(values: number[], shape: number[], dtype: DType = 'float32'): Make<T> {
  if (values.length !== sizeOf(shape)) throw new Error(`${values.length} values for shape [${shape}]`);
  const f = (() => tf.tensor(dtype === 'bool' ? values.map((v) => v !== 0) : values, shape, dtype) as T) as Make<T>;
  return Object.assign(f, { values, shape, dtype });
}

/** FNV-1a hash of a string: a stable seed per test case, whatever the order of the cases. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Draws test inputs from one seeded stream. */
export class DataSource {
  readonly rng: Rng;

  constructor(seed: number | string) {
    this.rng = new Rng(typeof seed === 'string' ? seedOf(seed) : seed);
  }

  floats(shape: number[], lo = -1, hi = 1): Make {
    return make(Array.from({ length: sizeOf(shape) }, () => this.rng.uniform(lo, hi)), shape);
  }

  ints(shape: number[], lo = -10, hi = 10): Make {
    return make(Array.from({ length: sizeOf(shape) }, () => this.rng.int(lo, hi)), shape, 'int32');
  }

  /** Non-zero integers in (-hi, hi) (divisors). */
  nonzeroInts(shape: number[], hi = 10): Make {
    return make(Array.from({ length: sizeOf(shape) }, () => this.rng.int(1, hi) * (this.rng.next() < 0.5 ? -1 : 1)),
      shape, 'int32');
  }

  bools(shape: number[]): Make {
    return make(Array.from({ length: sizeOf(shape) }, () => (this.rng.next() < 0.5 ? 1 : 0)), shape, 'bool');
  }

  /** Floats at least `margin` away from every kink (a point where the function is not smooth). */
  floatsAvoiding(shape: number[], lo: number, hi: number, distanceToKink: (x: number) => number, margin: number): Make {
    const values: number[] = [];
    while (values.length < sizeOf(shape)) {
      const x = this.rng.uniform(lo, hi);
      if (distanceToKink(x) >= margin) values.push(x);
    }
    return make(values, shape);
  }

  /** Distinct floats, pairwise at least `spacing` apart, in random order (max/min/pooling without ties). */
  distinct(shape: number[], spacing = 0.05, offset = 0): Make {
    const n = sizeOf(shape);
    const values = this.rng.shuffle(Array.from({ length: n }, (_, i) => offset + (i - n / 2) * spacing));
    return make(values, shape);
  }
}

/** Distance to the nearest of a list of kinks. */
export function awayFrom(...kinks: number[]): (x: number) => number {
  return (x) => Math.min(...kinks.map((k) => Math.abs(x - k)));
}

/** Distance to the nearest point of the lattice offset + k * period (floor, round, mod...). */
export function awayFromLattice(period: number, offset = 0): (x: number) => number {
  return (x) => {
    const r = (((x - offset) % period) + period) % period;
    return Math.min(r, period - r);
  };
}

/** A kernel output read back to the host. */
export interface Output {
  shape: number[];
  dtype: string;
  values: number[];
}

export function read(t: tf.Tensor): Output {
  return { shape: t.shape.slice(), dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>, Number) };
}

export function asList(result: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(result) ? result : [result];
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

function closeEnough(a: number, b: number, tol: Tolerance): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

/**
 * Describes how `actual` differs from `expected` (shape, dtype, values; floats within `tol`, int32 and bool exactly),
 * or returns null when they agree.
 */
export function difference(actual: Output[], expected: Output[], tol: Tolerance = DEFAULT_TOLERANCE): string | null {
  if (actual.length !== expected.length) return `${actual.length} outputs, expected ${expected.length}`;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k];
    const e = expected[k];
    const where = actual.length > 1 ? `output ${k}: ` : '';
    if (a.shape.join() !== e.shape.join()) return `${where}shape [${a.shape}], expected [${e.shape}]`;
    if (a.dtype !== e.dtype) return `${where}dtype ${a.dtype}, expected ${e.dtype}`;
    if (a.values.length !== e.values.length) return `${where}${a.values.length} values, expected ${e.values.length}`;
    const exact = a.dtype !== 'float32';
    const bad: string[] = [];
    let count = 0;
    for (let i = 0; i < e.values.length; i++) {
      const ok = exact ? a.values[i] === e.values[i] : closeEnough(a.values[i], e.values[i], tol);
      if (!ok && count++ < 5) bad.push(`[${i}] ${a.values[i]} vs ${e.values[i]}`);
    }
    if (count > 0) return `${where}${count} of ${e.values.length} values differ: ${bad.join(', ')}`;
  }
  return null;
}
