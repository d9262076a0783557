// Sharpness of a loss at a trained point, over the swept coordinates: the Hessian's top eigenvalue (power iteration),
// its trace (Hutchinson's estimator, with a standard error) and the mean loss rise on a circle of filter-normalised
// radius r in the plane of the landscape's directions. Curvature numbers summarise what the 2-D landscape shows, and
// the circle rise measures it in the landscape's own units, where the eigenvalue and trace depend on weight scale.
import { mixSeed, normalStream, uniformStream } from '../../datasets/random.ts';
import { gradientAt, hessianVectorProduct, type HvpScheme } from './hessianVector.ts';
import { checkLength, type ParameterSpace, sweptMask } from './parameterSpace.ts';

/** Salts so that one seed gives unrelated power-iteration starts and Rademacher probes. */
const START_SALT = 0x5eed01;
const RADEMACHER_SALT = 0x5eed02;

/** Options of the power iteration. */
export interface EigenOptions {
  /** At most this many Hessian-vector products. */
  iterations: number;
  /** Stop when the Rayleigh quotient changes by less than this fraction of itself. */
  tolerance: number;
  seed: number;
  /** The HVP's relative step (hessianVector.ts). */
  relativeStep?: number;
  /** How products are differenced (default central). */
  scheme?: HvpScheme;
  /** The gradient at theta, for the forward scheme (computed once when absent). */
  centreGradient?: Float32Array;
}

/** The power iteration's estimate, the products it took, and whether it met the tolerance. */
export interface EigenEstimate {
  value: number;
  iterations: number;
  converged: boolean;
}

/** Options of Hutchinson's estimator. */
export interface TraceOptions {
  /** Rademacher vectors (at least 2, for a standard error). */
  samples: number;
  seed: number;
  relativeStep?: number;
  scheme?: HvpScheme;
  centreGradient?: Float32Array;
}

/** Hutchinson's mean of v^T H v, its standard error (sample std / sqrt(samples)), and the samples. */
export interface TraceEstimate {
  value: number;
  stdError: number;
  samples: number;
}

/** Options of the circle rise. */
export interface CircleOptions {
  /** In the directions' (filter-normalised) units, as the grid's coordinates. */
  radius: number;
  /** Equally spaced angles, at least 3. */
  points: number;
}

/** The mean loss rise on the circle, with its radius and points. */
export interface CircleEstimate {
  value: number;
  radius: number;
  points: number;
}

/** All three measures for sharpnessAt; one seed serves every loss, so the losses are probed along the same vectors. */
export type SharpnessOptions = EigenOptions & TraceOptions & CircleOptions;

/** One loss's sharpness, flat for a table row. */
export interface SharpnessResult {
  topEigenvalue: number;
  topEigenvalueIterations: number;
  topEigenvalueConverged: boolean;
  trace: number;
  traceStdError: number;
  circleRise: number;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** The product options of a measurement: the forward scheme's centre gradient computed once, for all its products. */
function productOptions(space: ParameterSpace, loss: string, theta: Float32Array, options: EigenOptions | TraceOptions) {
  const centreGradient = options.scheme === 'forward' ? options.centreGradient ?? centreOf(space, loss, theta) : undefined;
  return { relativeStep: options.relativeStep, scheme: options.scheme, centreGradient };
}

/** The gradient at theta, leaving the space there. */
function centreOf(space: ParameterSpace, loss: string, theta: Float32Array): Float32Array {
  try {
    return gradientAt(space, loss, theta);
  } finally {
    space.set(theta);
  }
}

function positiveInteger(what: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) throw new Error(`${what} ${value} is not an integer >= ${least}`);
}

/**
 * The Hessian's eigenvalue of largest MAGNITUDE on the swept block, by power iteration from a seeded Gaussian start:
 * at a minimum it is the top (positive) eigenvalue; where a negative one dominates, the value is negative. The
 * estimate is the Rayleigh quotient v^T H v of the unit iterate, whose error falls as (lambda_2 / lambda_1)^(2k);
 * with two eigenvalues of equal magnitude and opposite sign it does not converge. Leaves the space at theta.
 */
export function topEigenvalue(space: ParameterSpace, loss: string, theta: Float32Array, options: EigenOptions): EigenEstimate {
  positiveInteger('iterations', options.iterations, 1);
  if (!(options.tolerance > 0)) throw new Error(`tolerance ${options.tolerance} is not positive`);
  const mask = sweptMask(space);
  const normal = normalStream(uniformStream(mixSeed(options.seed, START_SALT)));
  let v: Float32Array = new Float32Array(space.size);
  for (let i = 0; i < space.size; i++) if (mask[i]) v[i] = normal();
  let norm = Math.sqrt(dot(v, v));
  if (norm === 0) throw new Error('the space has no swept coordinates');
  let value = NaN;
  const products = productOptions(space, loss, theta, options);
  for (let iteration = 1; iteration <= options.iterations; iteration++) {
    for (let i = 0; i < v.length; i++) v[i] /= norm;
    const { product } = hessianVectorProduct(space, loss, theta, v, products);
    const previous = value;
    value = dot(v, product);
    norm = Math.sqrt(dot(product, product));
    // H v = 0 for a random v only happens when the swept block of H is zero.
    if (norm === 0) return { value: 0, iterations: iteration, converged: true };
    const converged = Math.abs(value - previous) < options.tolerance * Math.abs(value);
    if (converged) return { value, iterations: iteration, converged };
    v = product;
  }
  return { value, iterations: options.iterations, converged: false };
}

/**
 * Hutchinson's estimate of the trace of the Hessian's swept block: E[v^T H v] = tr H for Rademacher v (+-1 on the
 * swept coordinates). Its variance is 2 sum_{i != j} H_ij^2 / samples, so it is exact for a diagonal H. Sample k
 * draws from mixSeed(seed, salt, k), so adding samples keeps the earlier ones. Leaves the space at theta.
 */
export function hessianTrace(space: ParameterSpace, loss: string, theta: Float32Array, options: TraceOptions): TraceEstimate {
  positiveInteger('samples', options.samples, 2);
  const mask = sweptMask(space);
  const values = new Float64Array(options.samples);
  const products = productOptions(space, loss, theta, options);
  for (let k = 0; k < options.samples; k++) {
    const uniform = uniformStream(mixSeed(options.seed, RADEMACHER_SALT, k));
    const v = new Float32Array(space.size);
    for (let i = 0; i < space.size; i++) if (mask[i]) v[i] = uniform() < 0.5 ? -1 : 1;
    const { product } = hessianVectorProduct(space, loss, theta, v, products);
    values[k] = dot(v, product);
  }
  const mean = values.reduce((s, x) => s + x, 0) / options.samples;
  const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (options.samples - 1);
  return { value: mean, stdError: Math.sqrt(variance / options.samples), samples: options.samples };
}

/** Mean over the circle of each loss's rise above its value at theta; one evaluation per point serves every loss. */
function circleRises(space: ParameterSpace, losses: string[], theta: Float32Array, d1: Float32Array, d2: Float32Array,
  options: CircleOptions): Record<string, number> {
  positiveInteger('points', options.points, 3);
  if (!Number.isFinite(options.radius)) throw new Error(`radius ${options.radius} is not a number`);
  checkLength('theta', theta, space.size);
  checkLength('d1', d1, space.size);
  checkLength('d2', d2, space.size);
  const lossOf = (values: Record<string, number>, loss: string): number => {
    const value = values[loss];
    if (value === undefined) throw new Error(`the space evaluates no loss '${loss}' (it has ${Object.keys(values).join(', ')})`);
    return value;
  };
  const sums = new Float64Array(losses.length);
  try {
    space.set(theta);
    const centre = space.evaluate();
    const base = losses.map((loss) => lossOf(centre, loss));
    for (let k = 0; k < options.points; k++) {
      // Equally spaced angles make the mean of cos t, sin t and cos t sin t vanish and that of cos^2 t be 1/2
      // (for 3 points or more), so on a quadratic the rise is exactly r^2 (d1'Hd1 + d2'Hd2) / 4.
      const angle = (2 * Math.PI * k) / options.points;
      const a = options.radius * Math.cos(angle);
      const b = options.radius * Math.sin(angle);
      const point = new Float32Array(space.size);
      for (let i = 0; i < space.size; i++) point[i] = theta[i] + a * d1[i] + b * d2[i];
      space.set(point);
      const values = space.evaluate();
      losses.forEach((loss, j) => { sums[j] += lossOf(values, loss) - base[j]; });
    }
  } finally {
    space.set(theta);
  }
  return Object.fromEntries(losses.map((loss, j) => [loss, sums[j] / options.points]));
}

/**
 * The mean of loss(theta + r (cos t d1 + sin t d2)) - loss(theta) over `points` equally spaced angles t; with
 * filter-normalised d1, d2, r is in the grid's units. Leaves the space at theta.
 */
export function circleRise(space: ParameterSpace, loss: string, theta: Float32Array, d1: Float32Array, d2: Float32Array,
  options: CircleOptions): CircleEstimate {
  return { value: circleRises(space, [loss], theta, d1, d2, options)[loss], radius: options.radius, points: options.points };
}

/** Top eigenvalue, trace and circle rise of each loss at theta. Leaves the space at theta. */
export function sharpnessAt(space: ParameterSpace, losses: string[], theta: Float32Array, d1: Float32Array, d2: Float32Array,
  options: SharpnessOptions): Record<string, SharpnessResult> {
  const rises = circleRises(space, losses, theta, d1, d2, options);
  return Object.fromEntries(losses.map((loss) => {
    // The forward scheme's gradient at theta serves both measurements.
    const measure = { ...options, centreGradient: options.scheme === 'forward' ? centreOf(space, loss, theta) : undefined };
    const eigen = topEigenvalue(space, loss, theta, measure);
    const trace = hessianTrace(space, loss, theta, measure);
    return [loss, {
      topEigenvalue: eigen.value,
      topEigenvalueIterations: eigen.iterations,
      topEigenvalueConverged: eigen.converged,
      trace: trace.value,
      traceStdError: trace.stdError,
      circleRise: rises[loss],
    }];
  }));
}
