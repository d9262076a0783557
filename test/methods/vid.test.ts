// VID (Ahn et al., CVPR 2019) against its formula worked out here in plain JS (double precision): per tap a
// 1x1-conv regressor mu(s) (no bias, the public code's; option bias 1: with one) and a per-channel variance
// sigma^2 = softplus(a) + 1e-5, loss = sum over taps of the mean of 0.5 (log sigma^2 + (t - mu)^2 / sigma^2). The
// value with set weights and variances, with and without biases; the gradients with respect to the student's maps
// (central differences) and to a (by hand); the initial variance; identical maps with an identity regressor (the
// loss is then 0.5 log sigma^2); state copied as checkpoints do; four architectures.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { FeatureDistiller } from '../../methods/distiller.ts';
import { vid } from '../../methods/vid.ts';
import { initializeParameters } from '../../models/nn/index.ts';
import { randomValues, seededNormal } from '../support/random.ts';
import {
  ARCHITECTURES, copyState, directionalDifference, dot, expectAllClose, expectClose, lossAndGrads, lossOn, output,
  readState, runOnArchitecture, seeded, setSeeded, setState, setupFor, stateOf, toTensor, type Values,
} from './support/distillerChecks.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const created: FeatureDistiller[] = [];
afterEach(() => {
  for (const d of created.splice(0)) d.dispose();
});

// A stand-in model: VID reads taps[1:-1] = s1 and s2.
const TAPS = ['stem', 's1', 's2', 'pooled'];
const STUDENT = [[2, 2, 2], [2, 2, 3], [1, 2, 2], [4]];
const TEACHER = [[2, 2, 2], [2, 2, 4], [1, 2, 3], [5]];
const READ = [1, 2];

function makeVid(options: Record<string, number> = vid.options, seed = 1, student = STUDENT, teacher = TEACHER): FeatureDistiller {
  const d = vid.createDistiller!(setupFor(TAPS, student, teacher, 10, options));
  initializeParameters(d, seed);
  created.push(d);
  return d;
}

const softplus = (x: number) => Math.log1p(Math.exp(x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One tap's weights in plain JS: three 1x1 convolutions ([cin, cout] weights, biases: zero without) and a. */
interface TapWeights { w: Values[]; b: Values[]; a: Values }

const hasBias = (d: FeatureDistiller, tap: string) => d.stateDict().has(`${tap}.regressor.0.bias`);

function setTap(d: FeatureDistiller, tap: string, seed: number): TapWeights {
  const w = [0, 2, 4].map((layer, k) => setSeeded(d, `${tap}.regressor.${layer}.weight`, seed + k, 0.6));
  return {
    w,
    b: [0, 2, 4].map((layer, k) => (hasBias(d, tap)
      ? setSeeded(d, `${tap}.regressor.${layer}.bias`, seed + 10 + k, 0.2)
      : { shape: [w[k].shape[3]], data: new Array(w[k].shape[3]).fill(0) })),
    a: setSeeded(d, `${tap}.logScale`, seed + 20, 1),
  };
}

/** A 1x1 convolution of one pixel's channels: out_o = b_o + sum_i x_i W[i, o] (W stored [1, 1, cin, cout]). */
function conv1x1(x: number[], w: Values, b: Values): number[] {
  const [, , cin, cout] = w.shape;
  return Array.from({ length: cout }, (_, o) => {
    let s = b.data[o];
    for (let i = 0; i < cin; i++) s += x[i] * w.data[i * cout + o];
    return s;
  });
}

const relu = (v: number[]) => v.map((x) => Math.max(0, x));

/** mu for every pixel of an NHWC map (flattened pixels, each a channel vector). */
function predictedMean(student: Values, weights: TapWeights): number[][] {
  const cin = student.shape.at(-1)!;
  const pixels = student.data.length / cin;
  return Array.from({ length: pixels }, (_, p) => {
    const x = student.data.slice(p * cin, (p + 1) * cin);
    return conv1x1(relu(conv1x1(relu(conv1x1(x, weights.w[0], weights.b[0])), weights.w[1], weights.b[1])), weights.w[2], weights.b[2]);
  });
}

/** The paper's loss for one tap: mean over pixels and channels of 0.5 (log s2_c + (t - mu)^2 / s2_c). */
function tapLossRef(student: Values, teacher: Values, weights: TapWeights): number {
  const mu = predictedMean(student, weights);
  const variance = weights.a.data.map((a) => softplus(a) + 1e-5);
  const c = variance.length;
  let total = 0;
  mu.forEach((m, p) => m.forEach((v, ch) => {
    const t = teacher.data[p * c + ch];
    total += 0.5 * (Math.log(variance[ch]) + (t - v) ** 2 / variance[ch]);
  }));
  return total / (mu.length * c);
}

function features(shapes: number[][], b: number, seed: number): Values[] {
  return shapes.map((shape, i) => seeded([b, ...shape], seed + i));
}

describe('vid: the loss', () => {
  it('equals the Gaussian negative log-likelihood with set regressors and variances, summed over taps', () => {
    for (const bias of [0, 1]) {
      const d = makeVid({ ...vid.options, bias });
      expect(hasBias(d, 's1'), `bias ${bias}`).toBe(bias === 1);
      const weights = READ.map((i) => setTap(d, TAPS[i], 100 * i));
      const s = features(STUDENT, 2, 10);
      const t = features(TEACHER, 2, 20);
      const expected = READ.reduce((acc, tap, k) => acc + tapLossRef(s[tap], t[tap], weights[k]), 0);
      expectClose(lossOn(d, s, t, new Int32Array()), expected, `bias ${bias}: loss`, 1e-5);
    }
  });

  it('has the gradient of the JS loss with respect to the student maps (central differences) and to a (by hand)', () => {
    const d = makeVid();
    const weights = READ.map((i) => setTap(d, TAPS[i], 100 * i + 7));
    const s = features(STUDENT, 2, 30);
    const t = features(TEACHER, 2, 40);
    const lossJs = (xs: number[][]) => READ.reduce((acc, tap, k) =>
      acc + tapLossRef({ shape: s[tap].shape, data: xs[k] }, t[tap], weights[k]), 0);
    const { loss, grads } = lossAndGrads(d, s, t, new Int32Array(), READ);
    const xs = READ.map((i) => s[i].data);
    expectClose(loss, lossJs(xs), 'loss', 1e-5);
    grads.forEach((grad, k) => {
      const scale = Math.max(...grad.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-4);
      grad.forEach((g, i) => {
        const unit = xs.map((x, kk) => x.map((_, j) => (kk === k && j === i ? 1 : 0)));
        expectClose(g, directionalDifference(lossJs, xs, unit), `d loss / d ${TAPS[READ[k]]}[${i}]`, 2e-3, 2e-3 * scale);
      });
    });
    const directions = xs.map((x, k) => Array.from(randomValues(x.length, seededNormal(50 + k))));
    expectClose(grads.reduce((acc, g, k) => acc + dot(g, directions[k]), 0), directionalDifference(lossJs, xs, directions),
      'directional derivative', 2e-3);

    // d L_tap / d a_c = sigmoid(a_c) * (1 / (P C)) * sum over pixels of 0.5 (1 / s2_c - (t - mu)^2 / s2_c^2).
    READ.forEach((tap, k) => {
      const a = stateOf(d, `${TAPS[tap]}.logScale`);
      const analytic = tf.tidy(() => {
        const { grads: g } = tf.variableGrads(() => d.loss({
          student: output(s.map(toTensor)), teacher: output(t.map(toTensor)), indices: new Int32Array(),
        }), [a]);
        return Array.from(g[a.name].dataSync());
      });
      const mu = predictedMean(s[tap], weights[k]);
      const c = weights[k].a.data.length;
      const expected = weights[k].a.data.map((ac, ch) => {
        const v = softplus(ac) + 1e-5;
        const sumTerms = mu.reduce((acc, m, p) => acc + 0.5 * (1 / v - (t[tap].data[p * c + ch] - m[ch]) ** 2 / v ** 2), 0);
        return sigmoid(ac) * sumTerms / (mu.length * c);
      });
      expectAllClose(analytic, expected, `d loss / d ${TAPS[tap]}.logScale`, 1e-4, 1e-7);
    });
  });

  it('starts at sigma^2 = initVariance (5 by default, as the paper\'s code; 1 on request)', () => {
    for (const initVariance of [5, 1]) {
      const d = makeVid({ initVariance });
      for (const tap of ['s1', 's2']) {
        const a = readState(d, `${tap}.logScale`);
        expect(a.length).toBe(tap === 's1' ? 4 : 3);
        for (const v of a) expectClose(softplus(v) + 1e-5, initVariance, `${tap} initial variance`, 1e-6);
      }
    }
  });

  it('reduces to 0.5 log sigma^2 when the regressor reproduces the teacher map (identical maps, identity weights)', () => {
    const shapes = [[2, 2, 2], [2, 2, 3], [1, 2, 2], [4]];
    const d = makeVid(vid.options, 1, shapes, shapes);
    const maps = features(shapes, 2, 60).map((v) => ({ shape: v.shape, data: v.data.map(Math.abs) }));
    const expected = READ.reduce((acc, tap) => {
      const c = shapes[tap][2];
      const identity = Array.from({ length: c * c }, (_, i) => (i % (c + 1) === 0 ? 1 : 0));
      for (const layer of [0, 2, 4]) setState(d, `${TAPS[tap]}.regressor.${layer}.weight`, identity);
      const a = setSeeded(d, `${TAPS[tap]}.logScale`, 70 + tap);
      return acc + a.data.reduce((s, ac) => s + 0.5 * Math.log(softplus(ac) + 1e-5), 0) / c;
    }, 0);
    expectClose(lossOn(d, maps, maps, new Int32Array()), expected, 'loss', 1e-5, 1e-6);
    // ... and the student maps then get no gradient (mu = t is the minimum over mu).
    const { grads } = lossAndGrads(d, maps, maps, new Int32Array(), READ);
    for (const g of grads) expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-6);
  });
});

describe('vid: saved state and the method', () => {
  it('gives the same loss after its parameters are copied to a fresh distiller (a resume)', () => {
    const a = makeVid(vid.options, 3);
    READ.forEach((i) => setTap(a, TAPS[i], 300 + i));
    const b = makeVid(vid.options, 4);
    const s = features(STUDENT, 2, 80);
    const t = features(TEACHER, 2, 90);
    expect(lossOn(b, s, t, new Int32Array())).not.toBe(lossOn(a, s, t, new Int32Array()));
    copyState(a, b);
    expect(lossOn(b, s, t, new Int32Array())).toBe(lossOn(a, s, t, new Int32Array()));
    expect(a.namedBuffers()).toEqual([]);
    // No biases (the public code's 1x1 convs have none); option bias 1 adds one to each conv.
    expect(a.namedParameters().map((p) => p.name).sort()).toEqual(['s1', 's2'].flatMap((tap) => [
      `${tap}.logScale`, ...[0, 2, 4].map((l) => `${tap}.regressor.${l}.weight`),
    ]).sort());
    const withBias = makeVid({ ...vid.options, bias: 1 });
    expect(withBias.namedParameters().map((p) => p.name).filter((n) => n.endsWith('.bias')).sort())
      .toEqual(['s1', 's2'].flatMap((tap) => [0, 2, 4].map((l) => `${tap}.regressor.${l}.bias`)).sort());
    expect(stateOf(a, 's1.regressor.0.weight').shape).toEqual([1, 1, 3, 4]);
    expect(stateOf(a, 's1.regressor.2.weight').shape).toEqual([1, 1, 4, 4]);
  });

  it('declares SPEC section 3\'s settings and checks the maps\' sizes', () => {
    expect(vid.beta).toBe(1);
    expect(vid.options).toEqual({ initVariance: 5, bias: 0 });
    expect(vid.needsIndices).toBe(false);
    expect(vid.tapsRead(TAPS)).toEqual(READ);
    expect(() => vid.createDistiller!(setupFor(TAPS, STUDENT, [[2, 2, 2], [1, 1, 4], [1, 2, 3], [5]], 10, vid.options)))
      .toThrow(/same spatial size/);
    expect(() => vid.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, 10, { initVariance: 0 }))).toThrow(/initVariance/);
    expect(() => vid.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, 10, { ...vid.options, bias: 2 })))
      .toThrow(/^method vid: option bias must be 0 or 1, got 2$/);
  });

  it('runs with gradients on resnet20, vgg8, cnn-small and resnet18 (Tiny-ImageNet) without leaking tensors', () => {
    for (const c of ARCHITECTURES) runOnArchitecture(vid, c, vid.options, 16, 1);
  });
});
