// Gradients on the libtorch backend: for every libtorch kernel with a registered tfjs gradient, the analytic
// gradient (tfjs's gradient functions, running libtorch kernels such as Conv2DBackpropFilter or MaxPoolGrad) is
// compared with central finite differences of L(x) = sum(op(x) * r), r fixed and random, along a random
// direction v of each input:
//   (L(x + eps v) - L(x - eps v)) / (2 eps)  ~  <dL/dx, v>.
// The forward values are read back and L is summed in double, so float32 only enters through the op itself.
// Then, for the heavy kernels, libtorch's analytic gradients are compared with cpu's. The cases are in
// support/gradientCases.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { batchNormTraining, batchNormTrainingComposite, initBackend } from '../../engine/index.ts';
import { BatchNormTraining } from '../../engine/ops/batchNormTraining.ts';
import { fusedKernels } from '../../engine/libtorch/kernels/fused.ts';
import { libtorchKernelNames } from '../../engine/libtorch/register.ts';
import { DataSource, difference, make, type Make, read } from './support/data.ts';
import { CROSS_CASES, GRADIENT_CASES, type GradCase } from './support/gradientCases.ts';

// The fused kernels are checked against their composite twins in fusedOps.test.ts, which covers every one.
// FusedConv2D's gradient is conv2dWithBias's, checked there against the convolution plus a bias on cpu.
const CHECKED_IN_FUSED_OPS_SUITE = [...fusedKernels.map((k) => k.kernelName), 'FusedConv2D'];

/** |a - b| <= 2e-2 * max(1, |a|, |b|): float32 forward values, step eps, second-order truncation error. */
function agree(a: number, b: number): boolean {
  return Math.abs(a - b) <= 2e-2 * Math.max(1, Math.abs(a), Math.abs(b));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The op's output at the given input values, as float64 numbers. */
function forward(c: GradCase, inputs: Make[]): number[] {
  return tf.tidy(() => Array.from(tf.cast(c.f(...inputs.map((m) => m())), 'float32').dataSync(), Number));
}

function shifted(m: Make, v: Make, step: number): Make {
  return make(m.values.map((x, i) => x + step * v.values[i]), m.shape, m.dtype);
}

function lossOf(f: GradCase['f'], r: tf.Tensor): (...xs: tf.Tensor[]) => tf.Scalar {
  return (...xs) => tf.sum(tf.mul(tf.cast(f(...xs), 'float32'), r));
}

beforeAll(async () => {
  await initBackend('libtorch');
});

describe('the gradient case table', () => {
  it('covers every libtorch kernel with a registered gradient', () => {
    const covered = new Set(GRADIENT_CASES.map((c) => c.kernel));
    const missing = libtorchKernelNames().filter((k) => tf.getGradient(k) != null && !covered.has(k) &&
      !CHECKED_IN_FUSED_OPS_SUITE.includes(k));
    expect(missing).toEqual([]);
  });

  it('names only libtorch kernels with gradients, each case once', () => {
    const names = new Set(libtorchKernelNames());
    expect(GRADIENT_CASES.map((c) => c.kernel).filter((k) => !names.has(k) || tf.getGradient(k) == null)).toEqual([]);
    const titles = GRADIENT_CASES.map((c) => `${c.kernel}: ${c.name}`);
    expect(titles.filter((t, i) => titles.indexOf(t) !== i)).toEqual([]);
  });
});

describe('libtorch gradients match finite differences', () => {
  for (const c of GRADIENT_CASES) {
    it(`${c.kernel}: ${c.name}`, async () => {
      await tf.setBackend('libtorch');
      const d = new DataSource(`${c.kernel}: ${c.name}`);
      const inputs = c.inputs(d);
      const outShape = tf.tidy(() => c.f(...inputs.map((m) => m())).shape);
      const r = c.weights ? c.weights(d, outShape) : d.floats(outShape);
      const directions = inputs.map((m) => d.floats(m.shape));

      const profile = await tf.profile(() => tf.tidy(() => tf.grads(lossOf(c.f, r()))(inputs.map((m) => m()))));
      expect(profile.kernelNames, `the case never ran ${c.kernel} on libtorch`).toContain(c.kernel);
      const grads = (profile.result as tf.Tensor[]).map(read);
      tf.dispose(profile.result as tf.Tensor[]);

      const surrogate = c.surrogate?.(inputs.map((m) => m.values), r.values);
      const eps = c.eps ?? 1e-3;
      inputs.forEach((input, i) => {
        const grad = grads[i];
        expect(grad.shape, `gradient ${i} shape`).toEqual(input.shape);
        expect(grad.dtype, `gradient ${i} dtype`).toBe('float32');
        if (input.dtype !== 'float32') {
          // Integer inputs (indices) get a zero gradient.
          expect(grad.values.every((g) => g === 0), `gradient ${i} of an ${input.dtype} input`).toBe(true);
          return;
        }
        const analytic = dot(grad.values, directions[i].values);
        let numeric: number;
        if (surrogate) {
          numeric = dot(surrogate[i], directions[i].values);
        } else {
          const at = (step: number) => forward(c, inputs.map((m, k) => (k === i ? shifted(m, directions[i], step) : m)));
          const plus = at(eps);
          const minus = at(-eps);
          numeric = dot(r.values, plus.map((p, k) => (p - minus[k]) / (2 * eps)));
        }
        expect(agree(analytic, numeric), `input ${i}: analytic ${analytic}, finite difference ${numeric}`).toBe(true);
      });
    });
  }
});

describe('libtorch analytic gradients equal cpu analytic gradients', () => {
  for (const c of CROSS_CASES) {
    it(c.name, async () => {
      const gradientsOn = async (backend: 'cpu' | 'libtorch') => {
        await tf.setBackend(backend);
        const d = new DataSource(c.name);
        const inputs = c.inputs(d);
        const outShape = tf.tidy(() => c.f(...inputs.map((m) => m())).shape);
        const r = d.floats(outShape);
        const grads = tf.tidy(() => tf.grads(lossOf(c.f, r()))(inputs.map((m) => m())));
        const values = grads.map(read);
        tf.dispose(grads);
        return values;
      };
      const actual = await gradientsOn('libtorch');
      const expected = await gradientsOn('cpu');
      // Sums of up to a few dozen float32 products, accumulated in a different order.
      const diff = difference(actual, expected, { rtol: 1e-4, atol: 1e-5 });
      expect(diff, diff ?? '').toBeNull();
    });
  }
});

// Batch-norm training has three outputs, y and the batch statistics mean and invStd, each differentiable; the loss
// weights every one of them (then only the statistics, whose gradient reaches x alone), so the fused kernel's
// gradient must carry the terms of all three.
describe('batch-norm training gradients match finite differences, with loss weights on every output', () => {
  const variants = [
    ['fused kernel', batchNormTraining],
    ['composite twin', batchNormTrainingComposite],
  ] as const;
  for (const shape of [[3, 4, 2, 5], [6, 4]]) {
    for (const weightOnY of [true, false]) {
      for (const [name, op] of variants) {
        it(`${name} on ${JSON.stringify(shape)}${weightOnY ? '' : ', loss on mean and invStd only'}`, async () => {
          await tf.setBackend('libtorch');
          const channels = shape.at(-1)!;
          const d = new DataSource(`batchNormTraining ${shape} ${weightOnY}`);
          const inputs = [d.floats(shape, -1.5, 2.5), d.floats([channels], 0.5, 1.5), d.floats([channels])];
          const weights = [weightOnY ? d.floats(shape) : d.floats(shape, 0, 0), d.floats([channels], -3, 3),
            d.floats([channels], -3, 3)];
          // L = sum(y * ry) + sum(mean * rm) + sum(invStd * ri), summed in double from the read-back outputs.
          const outputs = (xs: tf.Tensor[]) => {
            const { y, mean, invStd } = op(xs[0], xs[1], xs[2], 1e-5);
            return [y, mean, invStd];
          };
          const loss = (...xs: tf.Tensor[]) =>
            tf.addN(outputs(xs).map((t, k) => tf.sum(tf.mul(t, weights[k]())))) as tf.Scalar;
          const lossAt = (values: Make[]) => tf.tidy(() => outputs(values.map((m) => m()))
            .reduce((sum, t, k) => sum + dot(Array.from(t.dataSync(), Number), weights[k].values), 0));

          const profile = await tf.profile(() => tf.tidy(() => tf.grads(loss)(inputs.map((m) => m()))));
          if (name === 'fused kernel') expect(profile.kernelNames).toContain(BatchNormTraining);
          const grads = (profile.result as tf.Tensor[]).map(read);
          tf.dispose(profile.result as tf.Tensor[]);
          const eps = 1e-3;
          inputs.forEach((input, i) => {
            const direction = d.floats(input.shape);
            const at = (step: number) => lossAt(inputs.map((m, k) => (k === i ? shifted(m, direction, step) : m)));
            const numeric = (at(eps) - at(-eps)) / (2 * eps);
            const analytic = dot(grads[i].values, direction.values);
            expect(agree(analytic, numeric), `input ${i}: analytic ${analytic}, finite difference ${numeric}`).toBe(true);
          });
        });
      }
    }
  }
});
