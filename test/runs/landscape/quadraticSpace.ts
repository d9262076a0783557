// A ParameterSpace over plain TypeScript losses with closed-form Hessians, for testing the landscape math:
// loss(x) = 1/2 (x - c)^T A (x - c) + kappa/4 sum_swept x_i^4, with A symmetric and known eigenvalues on the swept
// block (a Householder reflection of a diagonal), so eigenvalues, traces and circle rises have exact values.
import { normalStream, uniformStream } from '../../../datasets/random.ts';
import type { ParameterSpace, SweptTensor } from '../../../runs/landscape/parameterSpace.ts';
import { sweptMask } from '../../../runs/landscape/parameterSpace.ts';

/** Three tensors as a small network would have: a conv kernel (HWIO), a bias, a dense kernel [in, out]. */
export const TENSORS: SweptTensor[] = [
  { name: 'conv', shape: [3, 3, 2, 4], swept: true },
  { name: 'bias', shape: [4], swept: false },
  { name: 'dense', shape: [5, 3], swept: true },
];
export const SIZE = 72 + 4 + 15;
export const MASK = sweptMask({ tensors: TENSORS, size: SIZE });
export const SWEPT = Array.from({ length: SIZE }, (_, i) => i).filter((i) => MASK[i]);

/** One loss: its Hessian A (row-major n x n), centre c, and quartic coefficient kappa. */
export interface QuadraticLoss {
  hessian: Float64Array;
  centre: Float64Array;
  quartic?: number;
}

/** Seeded Gaussian values. */
export function gaussian(n: number, seed: number, scale = 1): Float64Array {
  const normal = normalStream(uniformStream(seed));
  return Float64Array.from({ length: n }, () => scale * normal());
}

/**
 * A = H D H + coupling, with H = I - 2 u u^T / u^T u and u supported on the swept coordinates, so the swept block has
 * eigenvalues exactly `swept` (u = 0 gives a diagonal block). The coupling between swept and non-swept coordinates
 * leaves the swept block alone; it catches a product that lets non-swept entries of v leak in.
 */
export function hessianWith(swept: number[], options: { reflect: boolean; coupling: number; seed: number }): Float64Array {
  const n = SIZE;
  const d = new Float64Array(n).fill(3);
  SWEPT.forEach((index, k) => { d[index] = swept[k]; });
  const u = new Float64Array(n);
  if (options.reflect) {
    const draws = gaussian(n, options.seed);
    for (const i of SWEPT) u[i] = draws[i];
  }
  const uu = u.reduce((s, x) => s + x * x, 0);
  const beta = uu > 0 ? 1 / uu : 0;
  const du = u.map((x, i) => d[i] * x);
  const udu = u.reduce((s, x, i) => s + x * du[i], 0);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      a[i * n + j] = (i === j ? d[i] : 0) - 2 * beta * (u[i] * du[j] + du[i] * u[j]) + 4 * beta * beta * udu * u[i] * u[j];
    }
  }
  const couple = gaussian(n * n, options.seed + 1, options.coupling);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (MASK[i] && !MASK[j]) {
        a[i * n + j] = couple[i * n + j];
        a[j * n + i] = couple[i * n + j];
      }
    }
  }
  return a;
}

/** A times x (float64). */
export function multiply(a: Float64Array, x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += a[i * n + j] * x[j];
    out[i] = sum;
  }
  return out;
}

function lossValue(spec: QuadraticLoss, x: Float32Array): number {
  const r = Float64Array.from(x, (xi, i) => xi - spec.centre[i]);
  const ar = multiply(spec.hessian, r);
  let value = 0;
  for (let i = 0; i < x.length; i++) value += 0.5 * r[i] * ar[i];
  const kappa = spec.quartic ?? 0;
  for (const i of SWEPT) value += (kappa / 4) * x[i] ** 4;
  return value;
}

/** The space of `losses` (by name), starting at theta; `calls` counts gradients and evaluations. */
export function quadraticSpace(losses: Record<string, QuadraticLoss>, theta: Float32Array):
  ParameterSpace & { calls: { gradient: number; evaluate: number } } {
  let current = new Float32Array(theta);
  const calls = { gradient: 0, evaluate: 0 };
  return {
    tensors: TENSORS, size: SIZE, calls,
    get: () => new Float32Array(current),
    set: (next) => {
      if (next.length !== SIZE) throw new Error('bad length');
      current = new Float32Array(next);
    },
    evaluate: () => {
      calls.evaluate++;
      return Object.fromEntries(Object.entries(losses).map(([name, spec]) => [name, lossValue(spec, current)]));
    },
    gradient: (loss) => {
      calls.gradient++;
      const spec = losses[loss];
      if (!spec) throw new Error(`no loss ${loss}`);
      const r = Float64Array.from(current, (xi, i) => xi - spec.centre[i]);
      const g = multiply(spec.hessian, r);
      const kappa = spec.quartic ?? 0;
      const grad = new Float32Array(SIZE);
      for (const i of SWEPT) grad[i] = g[i] + kappa * current[i] ** 3;
      return { value: lossValue(spec, current), grad };
    },
  };
}
