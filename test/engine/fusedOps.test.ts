// The fused native kernels (batch-norm training, fake quantization, ReLU's gradient, optimizer updates, a
// convolution's bias) against their composite twins written in plain tfjs ops, on libtorch and on the cpu backend,
// and against values worked out by hand.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { BatchNormTraining } from '../../engine/ops/batchNormTraining.ts';
import { FakeQuantize, FakeQuantizeGrad } from '../../engine/ops/fakeQuantize.ts';
import {
  adamUpdate, batchNormTraining, batchNormTrainingComposite, conv2dWithBias, fakeQuantize, fakeQuantizeComposite, initBackend, reluGrad,
  profileKernels, reluGradComposite, sgdUpdate,
} from '../../engine/index.ts';
import { fusedKernels } from '../../engine/libtorch/kernels/fused.ts';
import { randomValues, seededNormal } from '../support/random.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      throw new Error(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

/** Runs `f` on a backend from plain arrays and returns its outputs as arrays. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outputs = tf.tidy(f);
  const values = outputs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outputs);
  return values;
}

describe('batchNormTraining', () => {
  for (const shape of [[4, 5, 3, 7], [1, 7, 5, 13], [8, 10]]) {
    it(`fused kernel equals its composite twin on ${JSON.stringify(shape)}`, async () => {
      const channels = shape.at(-1)!;
      const size = shape.reduce((a, b) => a * b, 1);
      const next = seededNormal(shape.length * 100 + channels);
      const xValues = randomValues(size, () => 2 * next() + 0.5);
      const scaleValues = randomValues(channels, () => 1 + 0.3 * next());
      const offsetValues = randomValues(channels, next);
      const r = randomValues(size, next);
      // Loss weights on the batch statistics too: their gradients reach dx (none reach dScale or dOffset).
      const rMean = randomValues(channels, next);
      const rInvStd = randomValues(channels, next);
      const run = (composite: boolean) => () => {
        const x = tf.tensor(xValues, shape);
        const scale = tf.tensor1d(scaleValues);
        const offset = tf.tensor1d(offsetValues);
        const forward = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => composite
          ? batchNormTrainingComposite(xx, s, o, 1e-5)
          : batchNormTraining(xx, s, o, 1e-5);
        const { y, mean, invStd } = forward(x, scale, offset);
        const loss = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
          const out = forward(xx, s, o);
          return tf.addN([out.y.mul(tf.tensor(r, shape)).sum(), out.mean.mul(tf.tensor1d(rMean)).sum(),
            out.invStd.mul(tf.tensor1d(rInvStd)).sum()]) as tf.Scalar;
        };
        const grads = tf.grads(loss)([x, scale, offset]);
        return [y, mean, invStd, ...grads];
      };
      await tf.setBackend('libtorch');
      expect(tf.getKernel(BatchNormTraining, 'libtorch')).toBeDefined();
      const fused = await on('libtorch', run(false));
      const twinLibtorch = await on('libtorch', run(true));
      const twinCpu = await on('cpu', run(true));
      await tf.setBackend('libtorch');
      const names = ['y', 'mean', 'invStd', 'dx', 'dScale', 'dOffset'];
      names.forEach((name, i) => {
        expectClose(fused[i], twinLibtorch[i], 1e-4, 1e-5, `${name} fused vs composite (libtorch)`);
        expectClose(fused[i], twinCpu[i], 1e-4, 1e-5, `${name} fused vs composite (cpu)`);
      });
      // Batch statistics worked out independently, in double precision.
      const count = size / channels;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let i = c; i < size; i += channels) sum += xValues[i];
        const mean = sum / count;
        let squares = 0;
        for (let i = c; i < size; i += channels) squares += (xValues[i] - mean) ** 2;
        expect(fused[1][c]).toBeCloseTo(mean, 5);
        expect(fused[2][c]).toBeCloseTo(1 / Math.sqrt(squares / count + 1e-5), 3);
      }
    });
  }
});

describe('fakeQuantize', () => {
  const x = [-1, 0.2, 0.5, 0.9, 2];
  // levels 4 (2 bits) on [0, 1]: n = clamp(x) = [0, .2, .5, .9, 1]; n * 3 = [0, .6, 1.5, 2.7, 3] rounds (half to
  // even) to [0, 1, 2, 3, 3], so q = [0, 1/3, 2/3, 1, 1].
  const q = [0, 1 / 3, 2 / 3, 1, 1];
  // With dL/dy = 1 and delta = 0 (STE): inside [0, 1] dn/dx = 1 / (u - l) = 1, outside 0. For the bounds,
  // t = (x - l) / (u - l) gives dt/dl = (t - 1) / (u - l) and dt/du = -t / (u - l), summed over the inside
  // elements t = .2, .5, .9: dl = -.8 - .5 - .1 = -1.4 and du = -(.2 + .5 + .9) = -1.6.
  const steDx = [0, 1, 1, 1, 0];
  const steDl = -1.4;
  const steDu = -1.6;

  const variants: Array<[string, (xx: tf.Tensor, l: tf.Tensor, u: tf.Tensor, signed: boolean, delta: number) => tf.Tensor]> = [
    ['fused kernel', (xx, l, u, signed, delta) => fakeQuantize(xx, l, u, { levels: 4, signed, delta })],
    ['ATen composition in the addon', (xx, l, u, signed, delta) => tf.engine().runKernel(FakeQuantize,
      { x: xx, lower: l, upper: u }, { levels: 4, signed, delta, forceComposite: true }) as tf.Tensor],
    ['composite twin', (xx, l, u, signed, delta) => fakeQuantizeComposite(xx, l, u, { levels: 4, signed, delta })],
  ];

  for (const [name, quantize] of variants) {
    it(`${name}: values and STE gradients match the hand computation`, async () => {
      for (const backend of name === 'composite twin' ? ['libtorch', 'cpu'] : ['libtorch']) {
        await tf.setBackend(backend);
        const l = tf.scalar(0);
        const u = tf.scalar(1);
        const input = tf.tensor1d(x);
        expectClose(quantize(input, l, u, false, 0).dataSync(), q, 0, 1e-6, `${name} q on ${backend}`);
        expectClose(quantize(input, l, u, true, 0).dataSync(), q.map((v) => 2 * (v - 0.5)), 0, 1e-6, `${name} signed`);
        if (name !== 'ATen composition in the addon') {
          const [dx, dl, du] = tf.grads((a, b, c) => quantize(a, b, c, false, 0).sum())([input, l, u]);
          expectClose(dx.dataSync(), steDx, 0, 1e-6, `${name} dx`);
          expect(dl.dataSync()[0]).toBeCloseTo(steDl, 5);
          expect(du.dataSync()[0]).toBeCloseTo(steDu, 5);
        }
      }
      await tf.setBackend('libtorch');
    });
  }

  it('runs the native kernels forward and backward on libtorch, and the composite elsewhere', async () => {
    const kernelsRun = async () => (await tf.profile(() => tf.grad((a: tf.Tensor) =>
      fakeQuantize(a, tf.scalar(0), tf.scalar(1), { levels: 4 }).sum())(tf.tensor1d(x)))).kernelNames;
    await tf.setBackend('libtorch');
    expect(await kernelsRun()).toEqual(expect.arrayContaining([FakeQuantize, FakeQuantizeGrad]));
    await tf.setBackend('cpu');
    expect(await kernelsRun()).not.toContain(FakeQuantize);
    await tf.setBackend('libtorch');
  });

  it('applies the EWGS backward dL/dn = g + delta |g| (n - q) for delta > 0', async () => {
    await tf.setBackend('libtorch');
    const delta = 0.5;
    const g = [0.3, -2, 1.5, -0.7, 0.9];
    // Inside elements n = .2, .5, .9 with q = 1/3, 2/3, 1; g_n = g + delta |g| (n - q), times dn/dx = 1.
    const expected = [0, 1, 2, 3, 4].map((i) => (i === 0 || i === 4 ? 0 : g[i] + delta * Math.abs(g[i]) * ([0, 0.2, 0.5, 0.9, 1][i] - q[i])));
    for (const fused of [true, false]) {
      const dx = tf.grad((a: tf.Tensor) => (fused
        ? fakeQuantize(a, tf.scalar(0), tf.scalar(1), { levels: 4, delta })
        : fakeQuantizeComposite(a, tf.scalar(0), tf.scalar(1), { levels: 4, delta, signed: false })).mul(tf.tensor1d(g)).sum());
      expectClose(dx(tf.tensor1d(x)).dataSync(), expected, 1e-6, 1e-6, `EWGS dx (${fused ? 'fused' : 'composite'})`);
    }
  });

  const shapes: Array<{ shape: number[]; perChannel: boolean }> = [
    { shape: [6, 5, 4, 7], perChannel: false },
    { shape: [3, 3, 4, 5], perChannel: true },
    { shape: [1, 9, 7, 13], perChannel: true },
  ];
  for (const { shape, perChannel } of shapes) {
    for (const bits of [1, 2, 4, 8]) {
      it(`fused kernel equals both compositions: ${JSON.stringify(shape)}, ${bits} bits, ${perChannel ? 'per-channel' : 'per-tensor'}`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const channels = perChannel ? shape.at(-1)! : 1;
        const next = seededNormal(bits * 31 + size);
        const xValues = randomValues(size, next);
        const lower = randomValues(channels, () => -1.5 + 0.2 * next());
        const upper = randomValues(channels, () => 1.2 + 0.2 * next());
        const r = randomValues(size, next);
        const boundShape = perChannel ? [channels] : [];
        for (const signed of [false, true]) {
          for (const delta of [0, 0.25]) {
            const params = { levels: 2 ** bits, signed, delta };
            const run = (variant: 'fused' | 'aten' | 'twin') => () => {
              const xx = tf.tensor(xValues, shape);
              const l = tf.tensor(lower, boundShape);
              const u = tf.tensor(upper, boundShape);
              const forward = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => variant === 'fused' ? fakeQuantize(a, b, c, params)
                : variant === 'twin' ? fakeQuantizeComposite(a, b, c, params)
                  : tf.engine().runKernel(FakeQuantize, { x: a, lower: b, upper: c }, { ...params, forceComposite: true }) as tf.Tensor;
              const y = forward(xx, l, u);
              if (variant === 'aten') {
                const grads = tf.engine().runKernel(FakeQuantizeGrad, { dy: tf.tensor(r, shape), x: xx, lower: l, upper: u },
                  { ...params, forceComposite: true }) as tf.Tensor[];
                return [y, ...grads];
              }
              return [y, ...tf.grads((a, b, c) => forward(a, b, c).mul(tf.tensor(r, shape)).sum())([xx, l, u])];
            };
            const fused = await on('libtorch', run('fused'));
            const others = [await on('libtorch', run('aten')), await on('libtorch', run('twin')), await on('cpu', run('twin'))];
            for (const other of others) {
              expectClose(fused[0], other[0], 0, 1e-6, `y (signed ${signed}, delta ${delta})`);
              expectClose(fused[1], other[1], 1e-5, 1e-6, `dx (signed ${signed}, delta ${delta})`);
              // Bound gradients are sums over many elements: summation order differs.
              expectClose(fused[2], other[2], 1e-4, 1e-4, `dLower (signed ${signed}, delta ${delta})`);
              expectClose(fused[3], other[3], 1e-4, 1e-4, `dUpper (signed ${signed}, delta ${delta})`);
            }
            // Each output takes at most 2^bits distinct values.
            expect(new Set(fused[0]).size).toBeLessThanOrEqual(2 ** bits);
          }
        }
        await tf.setBackend('libtorch');
      });
    }
  }
});

describe('reluGrad', () => {
  it('equals tfjs own formula dy * step(x), on libtorch and cpu, NaN included', async () => {
    const next = seededNormal(77);
    const xValues = randomValues(3 * 5 * 7 * 13, next);
    xValues[0] = NaN;
    xValues[1] = 0;
    xValues[2] = -0;
    const dyValues = randomValues(xValues.length, next);
    // An infinite or NaN dy: where x <= 0, dy * 0 is NaN, not 0.
    xValues[3] = -1;
    dyValues[3] = Infinity;
    xValues[4] = 2;
    dyValues[4] = NaN;
    xValues[5] = -2;
    dyValues[5] = NaN;
    const run = (composite: boolean) => () => {
      const x = tf.tensor(xValues, [3, 5, 7, 13]);
      const dy = tf.tensor(dyValues, [3, 5, 7, 13]);
      return [composite ? reluGradComposite(dy, x) : reluGrad(dy, x), tf.grad((a: tf.Tensor) => tf.relu(a).mul(dy).sum())(x)];
    };
    const fused = await on('libtorch', run(false));
    for (const other of [await on('libtorch', run(true)), await on('cpu', run(true))]) {
      for (const i of [0, 1]) {
        for (const j of [0, 3, 4, 5]) expect(Number.isNaN(fused[i][j]), `output ${i}[${j}]`).toBe(Number.isNaN(other[i][j]));
        expectClose(fused[i].slice(6), other[i].slice(6), 0, 0, `reluGrad output ${i}`);
      }
    }
    // x = 0 and x = -0 pass no gradient (dy * 0 may be -0 when dy < 0: equal to 0 either way).
    expect(Array.from(fused[0].slice(1, 3)).every((value) => value === 0)).toBe(true);
    expect([3, 4, 5].map((j) => Number.isNaN(fused[0][j]))).toEqual([true, true, true]);
    await tf.setBackend('libtorch');
  });
});

describe('optimizer updates', () => {
  const shape = [7, 13];
  const size = 7 * 13;
  const next = seededNormal(91);
  const [p, g, m, v, buf] = [0, 1, 2, 3, 4].map(() => randomValues(size, next));
  const vPositive = v.map(Math.abs);

  for (const weightDecay of [0, 1e-4]) {
    it(`adamUpdate equals its composite twin and a hand computation (weight decay ${weightDecay})`, async () => {
      const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, stepSize: 1e-3 / (1 - 0.9 ** 3), correction2: Math.sqrt(1 - 0.999 ** 3) };
      const run = (composite: boolean) => () =>
        adamUpdate(tf.tensor(p, shape), tf.tensor(g, shape), tf.tensor(m, shape), tf.tensor(vPositive, shape), attrs, { composite });
      const fused = await on('libtorch', run(false));
      for (const other of [await on('libtorch', run(true)), await on('cpu', run(true))]) {
        fused.forEach((values, i) => expectClose(values, other[i], 1e-6, 1e-7, `adam output ${i}`));
      }
      // torch.optim.Adam's step, written out in double.
      const expected = Array.from(p, (pi, i) => {
        const gi = g[i] + weightDecay * pi;
        const mi = 0.9 * m[i] + 0.1 * gi;
        const vi = 0.999 * vPositive[i] + 0.001 * gi * gi;
        return pi - attrs.stepSize * mi / (Math.sqrt(vi) / attrs.correction2 + 1e-8);
      });
      expectClose(fused[0], expected, 1e-5, 1e-6, 'adam param vs hand computation');
      await tf.setBackend('libtorch');
    });
  }

  for (const [momentum, nesterov, firstStep] of [[0.9, false, true], [0.9, false, false], [0.9, true, false], [0, false, false]] as const) {
    it(`sgdUpdate equals its composite twin and a hand computation (momentum ${momentum}, nesterov ${nesterov}, first ${firstStep})`, async () => {
      const attrs = { lr: 0.1, momentum, weightDecay: 5e-4, nesterov, firstStep };
      const run = (composite: boolean) => () =>
        sgdUpdate(tf.tensor(p, shape), tf.tensor(g, shape), tf.tensor(buf, shape), attrs, { composite });
      const fused = await on('libtorch', run(false));
      for (const other of [await on('libtorch', run(true)), await on('cpu', run(true))]) {
        fused.forEach((values, i) => expectClose(values, other[i], 1e-6, 1e-7, `sgd output ${i}`));
      }
      const expected = Array.from(p, (pi, i) => {
        const d = g[i] + 5e-4 * pi;
        const b = momentum === 0 ? d : firstStep ? d : momentum * buf[i] + d;
        return pi - 0.1 * (nesterov ? d + momentum * b : b);
      });
      expectClose(fused[0], expected, 1e-5, 1e-6, 'sgd param vs hand computation');
      await tf.setBackend('libtorch');
    });
  }
});

describe('conv2dWithBias', () => {
  const xShape = [2, 7, 6, 3] as const;
  const wShape = [3, 3, 3, 5] as const;
  const next = seededNormal(5);
  const xValues = randomValues(2 * 7 * 6 * 3, next);
  const wValues = randomValues(3 * 3 * 3 * 5, next);
  const bValues = randomValues(5, next);
  const dyNext = seededNormal(6);

  for (const [strides, pad] of [[1, 1], [2, 'same'], [1, 'valid']] as const) {
    it(`equals the convolution plus the bias, values and every gradient (stride ${strides}, pad ${pad})`, async () => {
      let dyValues: Float32Array | undefined;
      const run = (composite: boolean) => () => {
        const x = tf.tensor4d(xValues, [...xShape]);
        const w = tf.tensor4d(wValues, [...wShape]);
        const b = tf.tensor1d(bValues);
        const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          conv2dWithBias(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, { strides, pad, dilations: 1 }, { composite });
        const y = f(x, w, b);
        dyValues ??= randomValues(y.size, dyNext);
        const dy = tf.tensor(dyValues, y.shape);
        return [y, ...tf.grads((xi, wi, bi) => f(xi, wi, bi).mul(dy).sum())([x, w, b])];
      };
      const fused = await on('libtorch', run(false));
      for (const other of [await on('libtorch', run(true)), await on('cpu', run(true))]) {
        fused.forEach((values, i) => expectClose(values, other[i], 1e-5, 1e-5, `conv2dWithBias output ${i}`));
      }
      await tf.setBackend('libtorch');
    });
  }

  it('computes only the gradients asked for: an image input costs no backprop pass', () => {
    const x = tf.tensor4d(xValues, [...xShape]);
    const w = tf.variable(tf.tensor4d(wValues, [...wShape]));
    const b = tf.variable(tf.tensor1d(bValues));
    const profile = profileKernels(() => {
      const { value, grads } = tf.variableGrads(() => conv2dWithBias(x, w as tf.Tensor4D, b as tf.Tensor1D,
        { strides: 1, pad: 1, dilations: 1 }).sum() as tf.Scalar, [w, b]);
      expect(Object.keys(grads).sort()).toEqual([b.name, w.name].sort());
      tf.dispose([value, ...Object.values(grads)]);
    }, []);
    tf.dispose([x, w, b]);
    const kernels = profile.rows.map((r) => r.kernel);
    expect(kernels).toContain('FusedConv2D');
    expect(kernels).toContain('Conv2DBackpropFilter');
    expect(kernels).not.toContain('Conv2DBackpropInput');
    expect(kernels).not.toContain('Add');
  });
});

describe('coverage', () => {
  it('checks every fused kernel libtorch registers', () => {
    const checked = ['BatchNormTraining', 'BatchNormTrainingGrad', 'FakeQuantize', 'FakeQuantizeGrad', 'ReluGrad',
      'AdamUpdate', 'SgdUpdate'];
    expect(fusedKernels.map((k) => k.kernelName).sort()).toEqual(checked.sort());
  });
});
