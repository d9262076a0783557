// The landscape math (runs/landscape/: filter-normalised directions, Hessian-vector products, sharpness) against
// closed forms on quadratic losses with known Hessians (quadraticSpace.ts), and on a quartic for the finite
// difference's truncation error. Every function must leave the space at theta, also when the space throws.
import { describe, expect, it } from 'vitest';

import { mixSeed } from '../../../datasets/random.ts';
import { filterNorms, interpolationDirection, randomDirection } from '../../../runs/landscape/filterDirections.ts';
import { HVP_RELATIVE_STEP, hessianVectorProduct } from '../../../runs/landscape/hessianVector.ts';
import type { ParameterSpace } from '../../../runs/landscape/parameterSpace.ts';
import { circleRise, hessianTrace, sharpnessAt, topEigenvalue } from '../../../runs/landscape/sharpness.ts';
import {
  gaussian, hessianWith, MASK, multiply, type QuadraticLoss, quadraticSpace, SIZE, SWEPT, TENSORS,
} from './quadraticSpace.ts';

/** Swept eigenvalues: 0.5..4.5, a second largest of 6 and a top of 12 (a gap of 2 for power iteration). */
const EIGENVALUES = SWEPT.map((_, k) => 0.5 + (4 * k) / SWEPT.length);
EIGENVALUES[10] = 12;
EIGENVALUES[40] = 6;
const TRACE = EIGENVALUES.reduce((s, x) => s + x, 0);

const THETA = Float32Array.from(gaussian(SIZE, 11, 0.5));
const CENTRE = gaussian(SIZE, 12, 0.3);
const DENSE: QuadraticLoss = { hessian: hessianWith(EIGENVALUES, { reflect: true, coupling: 0.4, seed: 13 }), centre: CENTRE };
const DIAGONAL: QuadraticLoss = {
  hessian: hessianWith(EIGENVALUES, { reflect: false, coupling: 0.4, seed: 13 }), centre: CENTRE,
};

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

function masked(v: ArrayLike<number>): Float64Array {
  return Float64Array.from(v, (x, i) => (MASK[i] ? x : 0));
}

/** The swept block of A times the swept part of v: the product the HVP should return. */
function sweptProduct(hessian: Float64Array, v: ArrayLike<number>): Float64Array {
  return masked(multiply(hessian, masked(v)));
}

function quadraticForm(hessian: Float64Array, v: ArrayLike<number>): number {
  const av = multiply(hessian, v);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * av[i];
  return sum;
}

function expectAtTheta(space: ParameterSpace): void {
  expect(Array.from(space.get())).toEqual(Array.from(THETA));
}

/** The norm of filter j of the conv kernel [3, 3, 2, 4], indexed by hand (HWIO: the last index is the filter). */
function convFilterNorm(vector: Float32Array, j: number): number {
  let sum = 0;
  for (let h = 0; h < 3; h++) {
    for (let w = 0; w < 3; w++) for (let c = 0; c < 2; c++) sum += vector[((h * 3 + w) * 2 + c) * 4 + j] ** 2;
  }
  return Math.sqrt(sum);
}

/** The norm of filter j of the dense kernel [5, 3] at offset 76. */
function denseFilterNorm(vector: Float32Array, j: number): number {
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += vector[76 + i * 3 + j] ** 2;
  return Math.sqrt(sum);
}

describe('filter-normalised directions', () => {
  const layout = { tensors: TENSORS, size: SIZE };

  it("gives every filter of a swept tensor the norm of theta's filter and zero to the others", () => {
    const d = randomDirection(layout, THETA, mixSeed(1, 1));
    for (let j = 0; j < 4; j++) expect(Math.abs(convFilterNorm(d, j) / convFilterNorm(THETA, j) - 1)).toBeLessThan(1e-5);
    for (let j = 0; j < 3; j++) expect(Math.abs(denseFilterNorm(d, j) / denseFilterNorm(THETA, j) - 1)).toBeLessThan(1e-5);
    expect(Array.from(d.subarray(72, 76))).toEqual([0, 0, 0, 0]);
    // filterNorms agrees with the hand-indexed norms.
    expect(filterNorms(layout, d, 2)[1]).toBeCloseTo(denseFilterNorm(d, 1), 6);
    // A random direction, not theta rescaled: its filters are far from parallel to theta's.
    let cosine = 0;
    for (let i = 0; i < 72; i += 4) cosine += d[i] * THETA[i];
    expect(Math.abs(cosine / (convFilterNorm(d, 0) * convFilterNorm(THETA, 0)))).toBeLessThan(0.9);
  });

  it('is the same for a seed and another for another seed', () => {
    const a = randomDirection(layout, THETA, mixSeed(1, 1));
    expect(Array.from(randomDirection(layout, THETA, mixSeed(1, 1)))).toEqual(Array.from(a));
    const b = randomDirection(layout, THETA, mixSeed(1, 2));
    expect(relativeError(b, a)).toBeGreaterThan(0.5);
  });

  it("gives a zero filter of theta a zero filter, and a tensor's direction does not depend on earlier shapes", () => {
    const theta = new Float32Array(THETA);
    for (let i = 2; i < 72; i += 4) theta[i] = 0;
    const d = randomDirection(layout, theta, 5);
    expect(convFilterNorm(d, 2)).toBe(0);
    expect(convFilterNorm(d, 1)).toBeGreaterThan(0);
    expect(d.every(Number.isFinite)).toBe(true);

    const wider = [{ ...TENSORS[0], shape: [1, 1, 2, 4] }, TENSORS[1], TENSORS[2]];
    const other = new Float32Array(8 + 4 + 15);
    other.set(THETA.subarray(76), 12);
    const e = randomDirection({ tensors: wider, size: other.length }, other, 5);
    expect(Array.from(e.subarray(12))).toEqual(Array.from(d.subarray(76)));
  });

  it('refuses a theta or a layout of the wrong size', () => {
    expect(() => randomDirection(layout, THETA.subarray(1), 1)).toThrow(/theta has 90 values/);
    expect(() => randomDirection({ tensors: TENSORS, size: 90 }, THETA.subarray(1), 1)).toThrow(/hold 91 values/);
  });

  it('interpolates between checkpoints on the swept tensors only', () => {
    const to = Float32Array.from(gaussian(SIZE, 3));
    const d = interpolationDirection(THETA, to, layout);
    for (let i = 0; i < SIZE; i++) expect(d[i]).toBe(MASK[i] ? Math.fround(to[i] - THETA[i]) : 0);
  });
});

describe('Hessian-vector products', () => {
  it('equal A v on a quadratic, ignore v off the swept coordinates, and leave the space at theta', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const v = Float32Array.from(gaussian(SIZE, 21));
    const { product, step } = hessianVectorProduct(space, 'q', THETA, v);
    const error = relativeError(product, sweptProduct(DENSE.hessian, v));
    expect(error).toBeLessThan(2e-4);
    for (let i = 0; i < SIZE; i++) if (!MASK[i]) expect(product[i]).toBe(0);
    const thetaNorm = Math.sqrt(SWEPT.reduce((s, i) => s + THETA[i] ** 2, 0));
    const vNorm = Math.sqrt(SWEPT.reduce((s, i) => s + v[i] ** 2, 0));
    expect(step * vNorm).toBeCloseTo(HVP_RELATIVE_STEP * thetaNorm, 10);
    expect(space.calls.gradient).toBe(2);
    expectAtTheta(space);
  });

  it("have a truncation error kappa eps^2 v^3 on a quartic, falling as the step's square", () => {
    const quartic: QuadraticLoss = { ...DENSE, quartic: 0.5 };
    const space = quadraticSpace({ q: quartic }, THETA);
    const v = Float32Array.from(gaussian(SIZE, 22));
    const exact = sweptProduct(DENSE.hessian, v);
    for (const i of SWEPT) exact[i] += 3 * 0.5 * THETA[i] ** 2 * v[i];
    const errors = [0.1, 0.05, 0.025, HVP_RELATIVE_STEP].map((relativeStep) => {
      const { product, step } = hessianVectorProduct(space, 'q', THETA, v, { relativeStep });
      const predicted = Float64Array.from(exact, (x, i) => x + (MASK[i] ? 0.5 * step ** 2 * v[i] ** 3 : 0));
      return { error: relativeError(product, exact), vsPredicted: relativeError(product, predicted) };
    });
    expect(errors[0].error / errors[1].error).toBeGreaterThan(3.8);
    expect(errors[0].error / errors[1].error).toBeLessThan(4.2);
    expect(errors[1].error / errors[2].error).toBeGreaterThan(3.8);
    expect(errors[1].error / errors[2].error).toBeLessThan(4.2);
    // The predicted truncation term accounts for nearly all of the error at a large step.
    expect(errors[0].vsPredicted).toBeLessThan(errors[0].error / 100);
    expect(errors[3].error).toBeLessThan(2e-4);
    expectAtTheta(space);
  });

  it('by forward differences: exact on a quadratic, error falling as the step on a quartic, one gradient given the centre\'s', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const v = Float32Array.from(gaussian(SIZE, 21));
    const { product } = hessianVectorProduct(space, 'q', THETA, v, { scheme: 'forward' });
    expect(relativeError(product, sweptProduct(DENSE.hessian, v))).toBeLessThan(4e-4);
    expect(space.calls.gradient).toBe(2);
    const centreGradient = space.gradient('q').grad.slice();
    hessianVectorProduct(space, 'q', THETA, v, { scheme: 'forward', centreGradient });
    expect(space.calls.gradient).toBe(4); // the centre's, then one probe
    expectAtTheta(space);

    const quartic = quadraticSpace({ q: { ...DENSE, quartic: 0.5 } }, THETA);
    const exact = sweptProduct(DENSE.hessian, v);
    for (const i of SWEPT) exact[i] += 3 * 0.5 * THETA[i] ** 2 * v[i];
    const errors = [0.02, 0.01, 0.005].map((relativeStep) => {
      const { product: p, step } = hessianVectorProduct(quartic, 'q', THETA, v, { relativeStep, scheme: 'forward' });
      // Its leading error term: half the third derivative along v, 3 kappa eps theta_i v_i^2.
      const predicted = Float64Array.from(exact, (x, i) => x + (MASK[i] ? 3 * 0.5 * step * THETA[i] * v[i] ** 2 : 0));
      return { error: relativeError(p, exact), vsPredicted: relativeError(p, predicted) };
    });
    expect(errors[0].error / errors[1].error).toBeGreaterThan(1.9);
    expect(errors[0].error / errors[1].error).toBeLessThan(2.1);
    expect(errors[1].error / errors[2].error).toBeGreaterThan(1.9);
    expect(errors[1].error / errors[2].error).toBeLessThan(2.1);
    expect(errors[0].vsPredicted).toBeLessThan(errors[0].error / 20);
  });

  it('are zero for a v that is zero on the swept coordinates, without a gradient', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const v = new Float32Array(SIZE);
    v.fill(1, 72, 76);
    const { product, step } = hessianVectorProduct(space, 'q', THETA, v);
    expect(step).toBe(0);
    expect(product.every((x) => x === 0)).toBe(true);
    expect(space.calls.gradient).toBe(0);
  });

  it('leave the space at theta when a gradient throws', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    let calls = 0;
    const failing: ParameterSpace = {
      ...space,
      gradient: (loss) => {
        if (++calls === 2) throw new Error('out of memory');
        return space.gradient(loss);
      },
    };
    expect(() => hessianVectorProduct(failing, 'q', THETA, Float32Array.from(gaussian(SIZE, 23)))).toThrow('out of memory');
    expectAtTheta(space);
    expect(() => hessianVectorProduct(space, 'q', THETA, THETA, { relativeStep: 0 })).toThrow(/relativeStep 0/);
  });
});

describe('top eigenvalue', () => {
  it("is A's largest eigenvalue on the swept block", () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const estimate = topEigenvalue(space, 'q', THETA, { iterations: 100, tolerance: 1e-6, seed: 31 });
    expect(estimate.converged).toBe(true);
    expect(estimate.iterations).toBeLessThan(30);
    expect(Math.abs(estimate.value / 12 - 1)).toBeLessThan(1e-4);
    expect(space.calls.gradient).toBe(2 * estimate.iterations);
    expectAtTheta(space);
    expect(topEigenvalue(space, 'q', THETA, { iterations: 100, tolerance: 1e-6, seed: 31 })).toEqual(estimate);
    // Forward differences: the same eigenvalue, one gradient per product and one at theta.
    const forward = quadraticSpace({ q: DENSE }, THETA);
    const byForward = topEigenvalue(forward, 'q', THETA, { iterations: 100, tolerance: 1e-6, seed: 31, scheme: 'forward' });
    expect(Math.abs(byForward.value / 12 - 1)).toBeLessThan(1e-4);
    expect(forward.calls.gradient).toBe(byForward.iterations + 1);
    expectAtTheta(forward);
  });

  it('is the eigenvalue of largest magnitude, negative where a negative one dominates', () => {
    const eigenvalues = [...EIGENVALUES];
    eigenvalues[60] = -20;
    const hessian = hessianWith(eigenvalues, { reflect: true, coupling: 0.4, seed: 14 });
    const space = quadraticSpace({ q: { hessian, centre: CENTRE } }, THETA);
    const estimate = topEigenvalue(space, 'q', THETA, { iterations: 100, tolerance: 1e-6, seed: 32 });
    expect(Math.abs(estimate.value / -20 - 1)).toBeLessThan(1e-4);
    expectAtTheta(space);
  });

  it('reports no convergence when the iterations run out', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const estimate = topEigenvalue(space, 'q', THETA, { iterations: 2, tolerance: 1e-9, seed: 31 });
    expect(estimate).toMatchObject({ iterations: 2, converged: false });
    expect(estimate.value).toBeLessThan(12);
    expectAtTheta(space);
  });
});

describe('Hutchinson trace', () => {
  it('is exact for a diagonal swept block', () => {
    const space = quadraticSpace({ q: DIAGONAL }, THETA);
    const estimate = hessianTrace(space, 'q', THETA, { samples: 8, seed: 41 });
    expect(Math.abs(estimate.value / TRACE - 1)).toBeLessThan(1e-4);
    expect(estimate.stdError).toBeLessThan(1e-4 * TRACE);
    expect(estimate.samples).toBe(8);
    expectAtTheta(space);
  });

  it('is within a few standard errors of the trace for a dense block, with the standard error the theory gives', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const samples = 200;
    const estimate = hessianTrace(space, 'q', THETA, { samples, seed: 42 });
    let offDiagonal = 0;
    for (const i of SWEPT) for (const j of SWEPT) if (i !== j) offDiagonal += DENSE.hessian[i * SIZE + j] ** 2;
    const theory = Math.sqrt((2 * offDiagonal) / samples);
    expect(Math.abs(estimate.value - TRACE)).toBeLessThan(4 * estimate.stdError);
    expect(estimate.stdError / theory).toBeGreaterThan(0.7);
    expect(estimate.stdError / theory).toBeLessThan(1.4);
    expectAtTheta(space);
    expect(() => hessianTrace(space, 'q', THETA, { samples: 1, seed: 42 })).toThrow(/samples 1/);
  });
});

describe('circle rise', () => {
  const d1 = randomDirection({ tensors: TENSORS, size: SIZE }, THETA, mixSeed(51, 1));
  const d2 = randomDirection({ tensors: TENSORS, size: SIZE }, THETA, mixSeed(51, 2));

  it('is r^2 (d1^T A d1 + d2^T A d2) / 4 on a quadratic, whatever the number of points from 3', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    const radius = 0.3;
    const expected = (radius ** 2 / 4) * (quadraticForm(DENSE.hessian, d1) + quadraticForm(DENSE.hessian, d2));
    for (const points of [3, 64]) {
      const rise = circleRise(space, 'q', THETA, d1, d2, { radius, points });
      expect(rise).toMatchObject({ radius, points });
      expect(Math.abs(rise.value / expected - 1)).toBeLessThan(1e-5);
      expectAtTheta(space);
    }
    expect(space.calls.evaluate).toBe(1 + 3 + 1 + 64);
  });

  it('refuses fewer than 3 points and a loss the space does not evaluate, leaving the space at theta', () => {
    const space = quadraticSpace({ q: DENSE }, THETA);
    expect(() => circleRise(space, 'q', THETA, d1, d2, { radius: 1, points: 2 })).toThrow(/points 2/);
    expect(() => circleRise(space, 'kl', THETA, d1, d2, { radius: 1, points: 4 })).toThrow(/no loss 'kl' \(it has q\)/);
    expectAtTheta(space);
    let calls = 0;
    const failing: ParameterSpace = {
      ...space,
      evaluate: () => {
        if (++calls === 3) throw new Error('device lost');
        return space.evaluate();
      },
    };
    expect(() => circleRise(failing, 'q', THETA, d1, d2, { radius: 1, points: 4 })).toThrow('device lost');
    expectAtTheta(space);
  });
});

describe('sharpnessAt', () => {
  it('gives each loss the three measures the single functions give, on one sweep of the circle', () => {
    const scaled: QuadraticLoss = { hessian: DIAGONAL.hessian.map((x) => 2 * x), centre: CENTRE };
    const space = quadraticSpace({ a: DENSE, b: scaled }, THETA);
    const d1 = randomDirection(space, THETA, mixSeed(61, 1));
    const d2 = randomDirection(space, THETA, mixSeed(61, 2));
    const options = { iterations: 100, tolerance: 1e-6, samples: 16, seed: 62, radius: 0.5, points: 8 };
    const result = sharpnessAt(space, ['a', 'b'], THETA, d1, d2, options);
    expect(space.calls.evaluate).toBe(1 + 8);
    expectAtTheta(space);
    for (const loss of ['a', 'b']) {
      const eigen = topEigenvalue(space, loss, THETA, options);
      const trace = hessianTrace(space, loss, THETA, options);
      expect(result[loss]).toEqual({
        topEigenvalue: eigen.value, topEigenvalueIterations: eigen.iterations, topEigenvalueConverged: eigen.converged,
        trace: trace.value, traceStdError: trace.stdError, circleRise: circleRise(space, loss, THETA, d1, d2, options).value,
      });
    }
    expect(Math.abs(result.b.topEigenvalue / 24 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(result.b.trace / (2 * TRACE) - 1)).toBeLessThan(1e-4);
  });
});
