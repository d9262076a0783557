// The optimizers (runs/optim) against PyTorch's update rules written out here in double precision: SGD with
// momentum 0.9 (with and without Nesterov) and coupled weight decay, Adam with coupled weight decay; state() and
// restore() round trips and their errors; and the learning-rate schedules of SPEC section 4.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { NamedParameter } from '../../models/nn/module.ts';
import { Adam, type AdamOptions } from '../../runs/optim/adam.ts';
import type { Optimizer, OptimizerState } from '../../runs/optim/optimizer.ts';
import { learningRateAt, type Schedule } from '../../runs/optim/schedule.ts';
import { Sgd, type SgdOptions } from '../../runs/optim/sgd.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const f32 = Math.fround;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-6, atol = 1e-7) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

// A five-element parameter, three steps of fixed gradients and a learning rate that changes each step (as a
// schedule would set it).
const P0 = [0.5, -1.2, 2.0, 0.03, -0.7].map(f32);
const GRADS = [
  [0.1, -0.3, 0.25, 1.2, -0.05],
  [-0.2, 0.4, 0.1, 0.9, 0.3],
  [0.05, -0.1, -0.6, 0.7, 0.2],
].map((g) => g.map(f32));

function parameter(name: string, values: number[]): NamedParameter {
  return { name, variable: tf.variable(tf.tensor1d(values), true), group: 'model' };
}

/** Applies GRADS[from..to) with the given learning rates; returns the parameter after each step. */
function run(optimizer: Optimizer, p: NamedParameter, lrs: number[], from = 0, to = GRADS.length): number[][] {
  const out: number[][] = [];
  for (let t = from; t < to; t++) {
    optimizer.learningRate = lrs[t];
    const g = tf.tensor1d(GRADS[t]);
    optimizer.apply({ [p.variable.name]: g });
    g.dispose();
    out.push(Array.from(p.variable.dataSync()));
  }
  return out;
}

/**
 * torch.optim.SGD (dampening 0), per element:
 *   d = g + wd p;  buf = d on the first step, else momentum buf + d;  p -= lr (nesterov ? d + momentum buf : buf)
 */
function sgdReference(lrs: number[], o: Required<Omit<SgdOptions, 'lr'>>): { params: number[][]; buffer: number[] } {
  let p = [...P0];
  let buf: number[] = [];
  const params: number[][] = [];
  GRADS.forEach((g, t) => {
    const d = g.map((gi, i) => gi + o.weightDecay * p[i]);
    buf = t === 0 ? d : buf.map((b, i) => o.momentum * b + d[i]);
    const step = o.nesterov ? d.map((di, i) => di + o.momentum * buf[i]) : buf;
    p = p.map((pi, i) => pi - lrs[t] * step[i]);
    params.push(p);
  });
  return { params, buffer: buf };
}

/**
 * torch.optim.Adam (coupled L2), per element, step t = 1, 2, 3:
 *   g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
function adamReference(lrs: number[], o: Required<Omit<AdamOptions, 'lr'>>): { params: number[][]; m: number[]; v: number[] } {
  let p = [...P0];
  let m = P0.map(() => 0);
  let v = P0.map(() => 0);
  const params: number[][] = [];
  GRADS.forEach((g, index) => {
    const t = index + 1;
    const gd = g.map((gi, i) => gi + o.weightDecay * p[i]);
    m = m.map((mi, i) => o.beta1 * mi + (1 - o.beta1) * gd[i]);
    v = v.map((vi, i) => o.beta2 * vi + (1 - o.beta2) * gd[i] ** 2);
    const stepSize = lrs[index] / (1 - o.beta1 ** t);
    const denominator = v.map((vi) => Math.sqrt(vi) / Math.sqrt(1 - o.beta2 ** t) + o.eps);
    p = p.map((pi, i) => pi - (stepSize * m[i]) / denominator[i]);
    params.push(p);
  });
  return { params, m, v };
}

const slot = (o: Optimizer, name: string) => Array.from(o.state().slots.get(name)!.dataSync());

describe('Sgd', () => {
  const lrs = [0.1, 0.07, 0.03];
  for (const nesterov of [false, true]) {
    for (const weightDecay of [0, 0.05]) {
      it(`momentum 0.9, nesterov ${nesterov}, weight decay ${weightDecay}: 3 steps as PyTorch`, () => {
        const p = parameter('w', P0);
        const sgd = new Sgd([p], { lr: lrs[0], momentum: 0.9, weightDecay, nesterov });
        const got = run(sgd, p, lrs);
        const ref = sgdReference(lrs, { momentum: 0.9, weightDecay, nesterov });
        got.forEach((values, t) => expectClose(values, ref.params[t], `step ${t + 1}`));
        expectClose(slot(sgd, 'momentum.w'), ref.buffer, 'momentum buffer');
        expect(sgd.state().step).toBe(3);
        sgd.dispose();
        p.variable.dispose();
      });
    }
  }

  it('the reference itself: first step by hand', () => {
    // Step 1 (no decay, no nesterov): buf = g, p = p0 - .1 g: [.5 - .01, -1.2 + .03, 2 - .025, .03 - .12, -.7 + .005]
    expectClose(sgdReference(lrs, { momentum: 0.9, weightDecay: 0, nesterov: false }).params[0],
      [0.49, -1.17, 1.975, -0.09, -0.695], 'hand step 1', 1e-6);
    // Step 2: buf = .9 g1 + g2 = [-.11, .13, .325, 1.98, .255]; p -= .07 buf
    expectClose(sgdReference(lrs, { momentum: 0.9, weightDecay: 0, nesterov: false }).params[1],
      [0.49 + 0.0077, -1.17 - 0.0091, 1.975 - 0.02275, -0.09 - 0.1386, -0.695 - 0.01785], 'hand step 2', 1e-6);
  });
});

describe('Adam', () => {
  const lrs = [0.01, 0.005, 0.002];
  const configs: Array<Required<Omit<AdamOptions, 'lr'>>> = [
    { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
    { beta1: 0.8, beta2: 0.99, eps: 1e-3, weightDecay: 5e-4 },
  ];
  for (const config of configs) {
    it(`betas ${config.beta1}/${config.beta2}, eps ${config.eps}, weight decay ${config.weightDecay}: 3 steps as PyTorch`, () => {
      const p = parameter('w', P0);
      const defaults = config.beta1 === 0.9 && config.eps === 1e-8;
      // The defaults are PyTorch's: betas (0.9, 0.999), eps 1e-8.
      const adam = new Adam([p], defaults ? { lr: lrs[0], weightDecay: config.weightDecay } : { lr: lrs[0], ...config });
      const got = run(adam, p, lrs);
      const ref = adamReference(lrs, config);
      got.forEach((values, t) => expectClose(values, ref.params[t], `step ${t + 1}`));
      expectClose(slot(adam, 'm.w'), ref.m, 'm');
      expectClose(slot(adam, 'v.w'), ref.v, 'v', 1e-6, 1e-12);
      adam.dispose();
      p.variable.dispose();
    });
  }

  it('the reference itself: the first step moves every element by lr against the sign of its gradient', () => {
    // t = 1 without decay: m = .1 g, v = .001 g^2, m / (1 - .9) = g, sqrt(v / (1 - .999)) = |g| -> p -= lr sign(g)
    const first = adamReference(lrs, configs[0]).params[0];
    expectClose(first, P0.map((p, i) => p - 0.01 * Math.sign(GRADS[0][i])), 'hand step 1', 1e-6, 1e-9);
  });
});

describe('state and restore', () => {
  const makers: Array<[string, (p: NamedParameter) => Optimizer, number[]]> = [
    ['sgd', (p) => new Sgd([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-2 }), [0.1, 0.07, 0.03]],
    ['adam', (p) => new Adam([p], { lr: 0.01, weightDecay: 1e-2 }), [0.01, 0.005, 0.002]],
  ];
  for (const [name, make, lrs] of makers) {
    it(`${name}: an optimizer restored from a saved state continues exactly as the original`, () => {
      const a = parameter('w', P0);
      const original = make(a);
      run(original, a, lrs, 0, 1);
      // Save as a checkpoint would: plain values of the step count and every slot.
      const saved = original.state();
      const copy: OptimizerState = {
        step: saved.step,
        slots: new Map([...saved.slots].map(([k, v]) => [k, tf.tensor(v.dataSync(), v.shape)])),
      };
      const b = parameter('w', Array.from(a.variable.dataSync()));
      const restored = make(b);
      restored.restore(copy);
      expect(restored.state().step).toBe(1);
      const fresh = parameter('w', Array.from(a.variable.dataSync()));
      const unrestored = make(fresh);

      const continued = run(original, a, lrs, 1, 3);
      expect(run(restored, b, lrs, 1, 3)).toEqual(continued);
      for (const key of saved.slots.keys()) expect(slot(restored, key)).toEqual(slot(original, key));
      // Without the state, the same steps give something else (momentum / bias correction start over).
      expect(run(unrestored, fresh, lrs, 1, 3)).not.toEqual(continued);
      for (const o of [original, restored, unrestored]) o.dispose();
      tf.dispose([a.variable, b.variable, fresh.variable, ...copy.slots.values()]);
    });
  }

  it('a wrong-shaped, unknown or missing slot is a one-line error that leaves the optimizer unchanged', () => {
    const p = parameter('w', P0);
    const adam = new Adam([p], { lr: 0.01 });
    run(adam, p, [0.01, 0.01, 0.01], 0, 2);
    const m = slot(adam, 'm.w');
    const attempt = (slots: Array<[string, tf.Tensor]>) => {
      let message = '';
      try {
        adam.restore({ step: 7, slots: new Map(slots) });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toContain('\n');
      expect(adam.state().step).toBe(2);
      expect(slot(adam, 'm.w')).toEqual(m);
      tf.dispose(slots.map(([, t]) => t));
      return message;
    };
    expect(attempt([['m.w', tf.zeros([5])], ['v.w', tf.zeros([3])]])).toBe("optimizer slot 'v.w' has shape [3], expected [5]");
    expect(attempt([['m.w', tf.zeros([5])], ['v.w', tf.zeros([5])], ['m.other', tf.zeros([5])]]))
      .toBe("optimizer state has slot 'm.other' that this model does not have");
    expect(attempt([['m.w', tf.zeros([5])]])).toMatch(/lacks 1 slot\(s\) of this model: v\.w$/);
    adam.dispose();
    p.variable.dispose();
  });
});

describe('learning-rate schedules', () => {
  it('cosine-epoch: lr0 (1 + cos(pi e / E)) / 2, the same for every iteration of an epoch', () => {
    const s: Schedule = { kind: 'cosine-epoch' };
    // E = 4, lr0 = 0.1: cos(0) = 1 -> .1; cos(pi/4) = .70710678 -> .085355339; cos(pi/2) = 0 -> .05;
    // cos(3pi/4) = -.70710678 -> .014644661; cos(pi) = -1 -> 0
    const expected = [0.1, 0.085355339, 0.05, 0.014644661, 0];
    expected.forEach((lr, e) => {
      expect(learningRateAt(s, 0.1, e, 0, 4, 10)).toBeCloseTo(lr, 8);
      expect(learningRateAt(s, 0.1, e, 9, 4, 10)).toBeCloseTo(lr, 8);
    });
    // E = 1200 (the CIFAR-10 ResNet-20 recipe), e = 300: (1 + cos(pi/4)) / 2 of lr0 = .1
    expect(learningRateAt(s, 0.1, 300, 0, 1200, 196)).toBeCloseTo(0.085355339, 8);
  });

  it('warmup-cosine: linear from warmupFrom over warmupIterations, then cosine per iteration to 0', () => {
    const s: Schedule = { kind: 'warmup-cosine', warmupIterations: 10, warmupFrom: 1e-4 };
    // base .05, 3 epochs of 8 iterations (24 in all); global iteration i = 8 epoch + iteration.
    const at = (i: number) => learningRateAt(s, 0.05, Math.floor(i / 8), i % 8, 3, 8);
    // warm-up: 1e-4 + (.05 - 1e-4) i / 10
    expect(at(0)).toBeCloseTo(1e-4, 12);
    expect(at(5)).toBeCloseTo(1e-4 + 0.0499 * 0.5, 12); // .02505
    expect(at(9)).toBeCloseTo(1e-4 + 0.0499 * 0.9, 12); // .04501
    // then .05 (1 + cos(pi (i - 10) / 14)) / 2 over the remaining 14 iterations
    expect(at(10)).toBeCloseTo(0.05, 12);
    expect(at(17)).toBeCloseTo(0.025, 12); // half way: cos(pi/2) = 0
    expect(at(23)).toBeCloseTo((0.05 * (1 + Math.cos((13 * Math.PI) / 14))) / 2, 12); // .000626802
    expect(at(23)).toBeCloseTo(0.000626802, 8);
    expect(at(24)).toBeCloseTo(0, 12);
    // monotone: up during the warm-up, down after it
    for (let i = 1; i < 24; i++) expect(at(i) > at(i - 1)).toBe(i <= 10);
  });

  it('constant: the base rate everywhere', () => {
    const s: Schedule = { kind: 'constant' };
    for (const [e, i] of [[0, 0], [3, 7], [99, 0]]) expect(learningRateAt(s, 0.02, e, i, 100, 8)).toBe(0.02);
  });
});
