// FitNets hints: the loss against mean((ReLU(BN(conv3x3(s))) - t)^2) worked out here in double with the distiller's
// own regressor weights (batch-norm affine set to known values), for the equal-size (stride 1) and the k-times-larger
// (stride 2) student map; its gradient with respect to the student's map and to the regressor's kernel against
// central differences; zero when the regressor's output is the teacher's map; the regressor registered as a child;
// the shape errors; a run on four architectures.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { fitnet } from '../../methods/fitnet.ts';
import { initializeParameters } from '../../models/nn/index.ts';
import {
  ARCHITECTURE_CASES, assignSeeded, expectClose, expectGradient, type Feature, lossAndGrads, mean, nhwc, output,
  parameterValues, runOnArchitecture, seededFeatures, setupFor, TAP_NAMES, toTensor, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// FitNet reads taps[2] (stage2): 2 student channels regressed to 3 teacher channels.
const STUDENT = [[4, 5, 2], [4, 5, 2], [4, 5, 2], [2, 3, 2], [6]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [4, 5, 3], [2, 3, 4], [7]];
// The student's hint map twice the teacher's size: a stride-2 regressor.
const STUDENT_LARGER = [[4, 5, 2], [4, 5, 2], [4, 6, 2], [2, 3, 2], [6]];
const TEACHER_SMALLER = [[4, 5, 3], [4, 5, 3], [2, 3, 3], [2, 3, 4], [7]];
const TAP = 2;
const BATCH = 3;
const BN_EPS = 1e-5;

interface Regressor {
  kernel: number[]; // HWIO [3, 3, Cin, Cout]
  bias: number[];
  gamma: number[];
  beta: number[];
  stride: number;
}

/** The regressor's parameters as the distiller holds them, after setting the batch-norm affine to seeded values. */
function regressorOf(distiller: ReturnType<typeof build>, stride: number): Regressor {
  assignSeeded(distiller, 'regressor.1.weight', 11, 0.5);
  assignSeeded(distiller, 'regressor.1.bias', 12, 0.5);
  return {
    kernel: parameterValues(distiller, 'regressor.0.weight'), bias: parameterValues(distiller, 'regressor.0.bias'),
    gamma: parameterValues(distiller, 'regressor.1.weight'), beta: parameterValues(distiller, 'regressor.1.bias'), stride,
  };
}

/** The regressor's pre-activation: 3x3 conv (zero padding 1, stride k, bias), then batch norm on batch statistics. */
function preActivation(x: Feature, r: Regressor): Feature {
  const [n, H, W, cin] = x.shape;
  const cout = r.bias.length;
  const ho = Math.floor((H + 2 - 3) / r.stride) + 1;
  const wo = Math.floor((W + 2 - 3) / r.stride) + 1;
  const conv: number[] = [];
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let o = 0; o < cout; o++) {
    let s = r.bias[o];
    for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) {
      const h = i * r.stride + di - 1;
      const w = j * r.stride + dj - 1;
      if (h < 0 || h >= H || w < 0 || w >= W) continue;
      for (let c = 0; c < cin; c++) s += nhwc(x, b, h, w, c) * r.kernel[((di * 3 + dj) * cin + c) * cout + o];
    }
    conv.push(s);
  }
  // Batch norm in training mode: each channel's mean and biased variance over N, H, W.
  const out = conv.slice();
  for (let o = 0; o < cout; o++) {
    const values = conv.filter((_, k) => k % cout === o);
    const mu = mean(values);
    const variance = mean(values.map((v) => (v - mu) ** 2));
    for (let k = o; k < conv.length; k += cout) out[k] = (conv[k] - mu) / Math.sqrt(variance + BN_EPS) * r.gamma[o] + r.beta[o];
  }
  return { shape: [n, ho, wo, cout], values: out };
}

function fitnetJs(s: Feature, t: Feature, r: Regressor): number {
  const z = preActivation(s, r);
  expect(z.shape).toEqual(t.shape);
  return mean(z.values.map((v, k) => (Math.max(v, 0) - t.values[k]) ** 2));
}

function build(studentShapes = STUDENT, teacherShapes = TEACHER, tapNames: readonly string[] = TAP_NAMES) {
  const distiller = fitnet.createDistiller!(setupFor(studentShapes, teacherShapes, fitnet.options, tapNames));
  initializeParameters(distiller, 5);
  return distiller;
}

describe('fitnet', () => {
  it('declares the paper code\'s tap and weight, and registers its regressor as a trainable child', () => {
    expect(fitnet.tapsRead(TAP_NAMES)).toEqual([TAP]);
    expect(fitnet.beta).toBe(100);
    const distiller = build();
    expect(distiller.namedParameters().map((p) => [p.name, p.variable.shape, p.group])).toEqual([
      ['regressor.0.weight', [3, 3, 2, 3], 'model'], ['regressor.0.bias', [3], 'model'],
      ['regressor.1.weight', [3], 'model'], ['regressor.1.bias', [3], 'model'],
    ]);
    expect([...distiller.stateDict().keys()]).toContain('regressor.1.runningVar');
    distiller.dispose();
  });

  for (const [what, studentShapes, teacherShapes, stride] of [
    ['equal sizes (stride 1)', STUDENT, TEACHER, 1],
    ['a student map twice the teacher\'s (stride 2)', STUDENT_LARGER, TEACHER_SMALLER, 2],
  ] as const) {
    it(`computes the MSE of the regressed student map to the teacher's, ${what}`, () => {
      const distiller = build(studentShapes.map((s) => [...s]), teacherShapes.map((s) => [...s]));
      const r = regressorOf(distiller, stride);
      const s = seededFeatures(BATCH, studentShapes.map((x) => [...x]), 1);
      const t = seededFeatures(BATCH, teacherShapes.map((x) => [...x]), 2);
      const expected = fitnetJs(s[TAP], t[TAP], r);
      expectClose(lossAndGrads(distiller, s, t, [TAP]).loss, expected, `fitnet loss, ${what}`);
      distiller.dispose();
    });
  }

  it('has the gradient of the formula with respect to the student\'s map and the regressor\'s kernel', () => {
    const distiller = build();
    const r = regressorOf(distiller, 1);
    const s = seededFeatures(BATCH, STUDENT, 3);
    const t = seededFeatures(BATCH, TEACHER, 4);
    // No pre-activation sits at ReLU's kink, where central differences would straddle it.
    expect(Math.min(...preActivation(s[TAP], r).values.map(Math.abs))).toBeGreaterThan(1e-3);
    const { grads } = lossAndGrads(distiller, s, t, [TAP]);
    expectGradient((values) => fitnetJs(withValues(s[TAP], values), t[TAP], r), s[TAP].values, grads[0],
      'd fitnet / d stage2');
    const kernel = distiller.namedParameters().find((p) => p.name === 'regressor.0.weight')!.variable;
    const kernelGrad = tf.tidy(() => {
      const { grads: g } = tf.variableGrads(() => distiller.loss({
        student: output(s.map(toTensor)), teacher: output(t.map(toTensor)), indices: new Int32Array(),
      }), [kernel]);
      return Array.from(g[kernel.name].dataSync());
    });
    expectGradient((values) => fitnetJs(s[TAP], t[TAP], { ...r, kernel: values }), r.kernel, kernelGrad,
      'd fitnet / d regressor kernel');
    distiller.dispose();
  });

  it('is zero, with a zero gradient, when the regressor\'s output equals the teacher\'s map', () => {
    const distiller = build();
    regressorOf(distiller, 1);
    const s = seededFeatures(BATCH, STUDENT, 5);
    const t = seededFeatures(BATCH, TEACHER, 6);
    const regressor = distiller.children().find(([name]) => name === 'regressor')![1];
    const regressed = tf.tidy(() => Array.from(regressor.forward(toTensor(s[TAP])).dataSync()));
    t[TAP] = withValues(t[TAP], regressed);
    const { loss, grads } = lossAndGrads(distiller, s, t, [TAP]);
    expect(loss).toBe(0);
    expect(grads[0].every((g) => g === 0)).toBe(true);
    distiller.dispose();
  });

  it('names the tap and sizes when the maps do not fit', () => {
    const withTap = (shapes: number[][], shape: number[]) => shapes.map((s, i) => (i === TAP ? shape : s.slice()));
    expect(() => build(withTap(STUDENT, [4, 5, 2]), withTap(TEACHER, [3, 5, 3])))
      .toThrow(/fitnet needs tap stage2 of the student at the teacher's spatial size or an integer multiple of it, got 4x5 \(student\) and 3x5 \(teacher\)/);
    expect(() => build(withTap(STUDENT, [4, 6, 2]), withTap(TEACHER, [2, 2, 3]))).toThrow(/got 4x6 \(student\) and 2x2 \(teacher\)/);
    expect(() => build(withTap(STUDENT, [2, 3, 2]), withTap(TEACHER, [4, 6, 3]))).toThrow(/got 2x3 \(student\) and 4x6 \(teacher\)/);
    expect(() => build(withTap(STUDENT, [8]), TEACHER)).toThrow(/fitnet reads spatial maps \[H, W, C\], but tap stage2 is \[8\] \(student\)/);
    expect(() => build(STUDENT, TEACHER, ['stem', 'pooled'])).toThrow(/method fitnet reads taps \[2:3\] but the architecture has taps stem, pooled/);
    expect(() => build(STUDENT.slice(0, 2), TEACHER)).toThrow(/method fitnet reads tap stage2, but the setup gives 2 student/);
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(fitnet, c);
    });
  }
});
