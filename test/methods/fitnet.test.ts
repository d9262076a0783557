// FitNets hints: the regressor's kernel chosen from the student's and teacher's hint-map sizes (1x1 at equal sizes,
// (1 + sH - tH) x (1 + sW - tW) unpadded when the student's is larger, 3x3 stride 2 when it is twice the teacher's,
// a 4x4 stride-2 transposed convolution when it is half), each followed by batch norm and ReLU; the loss against
// mean((ReLU(BN(r(s))) - t)^2) worked out here in double with the distiller's own regressor weights (batch-norm
// affine set to known values) for all four; its gradient with respect to the student's map and to the regressor's
// kernel against central differences; zero when the regressor's output is the teacher's map; PyTorch's default
// initialisation; the regressor registered as a child; the shape errors; a run on four architectures.
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

const TAP = 2;
const BATCH = 3;
const BN_EPS = 1e-5;
// Taps around the hint tap (only taps[2] is read; withHint fills it in).
const OTHER_STUDENT = [[4, 5, 2], [4, 5, 2], [], [2, 3, 2], [6]];
const OTHER_TEACHER = [[4, 5, 3], [4, 5, 3], [], [2, 3, 4], [7]];
const withHint = (others: number[][], hint: number[]) => others.map((s, i) => (i === TAP ? hint.slice() : s.slice()));

/** How the regressor's convolution maps the student's hint map to the teacher's size. */
interface Geometry {
  transposed: boolean;
  kernel: [number, number];
  stride: number;
  padding: number;
}

// 2 student channels regressed to 3 teacher channels, at each pair of sizes the regressor handles.
const CASES: Array<{ what: string; student: number[]; teacher: number[]; geometry: Geometry; weightShape: number[] }> = [
  { what: 'equal sizes: 1x1', student: [4, 5, 2], teacher: [4, 5, 3],
    geometry: { transposed: false, kernel: [1, 1], stride: 1, padding: 0 }, weightShape: [1, 1, 2, 3] },
  { what: 'a larger student map: (1 + sH - tH) x (1 + sW - tW), unpadded', student: [5, 7, 2], teacher: [4, 5, 3],
    geometry: { transposed: false, kernel: [2, 3], stride: 1, padding: 0 }, weightShape: [2, 3, 2, 3] },
  { what: 'a student map twice the teacher\'s: 3x3 stride 2', student: [4, 6, 2], teacher: [2, 3, 3],
    geometry: { transposed: false, kernel: [3, 3], stride: 2, padding: 1 }, weightShape: [3, 3, 2, 3] },
  { what: 'a student map half the teacher\'s: 4x4 stride-2 transposed', student: [2, 3, 2], teacher: [4, 6, 3],
    geometry: { transposed: true, kernel: [4, 4], stride: 2, padding: 1 }, weightShape: [4, 4, 3, 2] },
];

interface Regressor extends Geometry {
  /** HWIO [kh, kw, Cin, Cout] for a convolution, HWOI [k, k, Cout, Cin] for a transposed one. */
  weight: number[];
  bias: number[];
  gamma: number[];
  beta: number[];
}

/** The regressor's parameters as the distiller holds them, after setting the batch-norm affine to seeded values. */
function regressorOf(distiller: ReturnType<typeof build>, geometry: Geometry): Regressor {
  assignSeeded(distiller, 'regressor.1.weight', 11, 0.5);
  assignSeeded(distiller, 'regressor.1.bias', 12, 0.5);
  return {
    ...geometry, weight: parameterValues(distiller, 'regressor.0.weight'), bias: parameterValues(distiller, 'regressor.0.bias'),
    gamma: parameterValues(distiller, 'regressor.1.weight'), beta: parameterValues(distiller, 'regressor.1.bias'),
  };
}

/** y[i, j] = b + sum over the window of x[i s + di - p, j s + dj - p] w[di, dj] (zero outside the map). */
function convolution(x: Feature, r: Regressor): Feature {
  const [n, H, W, cin] = x.shape;
  const cout = r.bias.length;
  const [kh, kw] = r.kernel;
  const ho = Math.floor((H + 2 * r.padding - kh) / r.stride) + 1;
  const wo = Math.floor((W + 2 * r.padding - kw) / r.stride) + 1;
  const values: number[] = [];
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let o = 0; o < cout; o++) {
    let s = r.bias[o];
    for (let di = 0; di < kh; di++) for (let dj = 0; dj < kw; dj++) {
      const h = i * r.stride + di - r.padding;
      const w = j * r.stride + dj - r.padding;
      if (h < 0 || h >= H || w < 0 || w >= W) continue;
      for (let c = 0; c < cin; c++) s += nhwc(x, b, h, w, c) * r.weight[((di * kw + dj) * cin + c) * cout + o];
    }
    values.push(s);
  }
  return { shape: [n, ho, wo, cout], values };
}

/** The transpose: each input position adds x[h, w] w[di, dj] at output [h s - p + di, w s - p + dj], if inside. */
function transposedConvolution(x: Feature, r: Regressor): Feature {
  const [n, H, W, cin] = x.shape;
  const cout = r.bias.length;
  const [k] = r.kernel;
  const ho = (H - 1) * r.stride - 2 * r.padding + k;
  const wo = (W - 1) * r.stride - 2 * r.padding + k;
  const values = new Array<number>(n * ho * wo * cout).fill(0);
  const at = (b: number, i: number, j: number, o: number) => ((b * ho + i) * wo + j) * cout + o;
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let o = 0; o < cout; o++) {
    values[at(b, i, j, o)] = r.bias[o];
  }
  for (let b = 0; b < n; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    for (let di = 0; di < k; di++) for (let dj = 0; dj < k; dj++) {
      const i = h * r.stride - r.padding + di;
      const j = w * r.stride - r.padding + dj;
      if (i < 0 || i >= ho || j < 0 || j >= wo) continue;
      for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) {
        values[at(b, i, j, o)] += nhwc(x, b, h, w, c) * r.weight[((di * k + dj) * cout + o) * cin + c];
      }
    }
  }
  return { shape: [n, ho, wo, cout], values };
}

/** The regressor's pre-activation: its convolution, then batch norm on batch statistics. */
function preActivation(x: Feature, r: Regressor): Feature {
  const conv = r.transposed ? transposedConvolution(x, r) : convolution(x, r);
  const cout = r.bias.length;
  // Batch norm in training mode: each channel's mean and biased variance over N, H, W.
  const out = conv.values.slice();
  for (let o = 0; o < cout; o++) {
    const values = conv.values.filter((_, k) => k % cout === o);
    const mu = mean(values);
    const variance = mean(values.map((v) => (v - mu) ** 2));
    for (let k = o; k < out.length; k += cout) out[k] = (conv.values[k] - mu) / Math.sqrt(variance + BN_EPS) * r.gamma[o] + r.beta[o];
  }
  return { shape: conv.shape, values: out };
}

function fitnetJs(s: Feature, t: Feature, r: Regressor): number {
  const z = preActivation(s, r);
  expect(z.shape).toEqual(t.shape);
  return mean(z.values.map((v, k) => (Math.max(v, 0) - t.values[k]) ** 2));
}

function build(studentShapes: number[][], teacherShapes: number[][], tapNames: readonly string[] = TAP_NAMES,
  options: Record<string, number> = fitnet.options) {
  const distiller = fitnet.createDistiller!(setupFor(studentShapes, teacherShapes, options, tapNames));
  initializeParameters(distiller, 5);
  return distiller;
}

const buildCase = (c: (typeof CASES)[number]) => build(withHint(OTHER_STUDENT, c.student), withHint(OTHER_TEACHER, c.teacher));
const featuresOf = (c: (typeof CASES)[number], seed: number) => ({
  s: seededFeatures(BATCH, withHint(OTHER_STUDENT, c.student), seed),
  t: seededFeatures(BATCH, withHint(OTHER_TEACHER, c.teacher), seed + 1),
});

describe('fitnet', () => {
  it('declares the paper code\'s tap and weight, and builds with no options given', () => {
    expect(fitnet.tapsRead(TAP_NAMES)).toEqual([TAP]);
    expect(fitnet.beta).toBe(100);
    build(withHint(OTHER_STUDENT, CASES[0].student), withHint(OTHER_TEACHER, CASES[0].teacher), TAP_NAMES, {}).dispose();
  });

  for (const c of CASES) {
    describe(c.what, () => {
      it('registers a regressor of that kernel, batch norm and ReLU as a trainable child', () => {
        const distiller = buildCase(c);
        expect(distiller.namedParameters().map((p) => [p.name, p.variable.shape, p.group])).toEqual([
          ['regressor.0.weight', c.weightShape, 'model'], ['regressor.0.bias', [3], 'model'],
          ['regressor.1.weight', [3], 'model'], ['regressor.1.bias', [3], 'model'],
        ]);
        expect([...distiller.stateDict().keys()]).toContain('regressor.1.runningVar');
        distiller.dispose();
      });

      it('draws the regressor with PyTorch\'s default U(-1/sqrt(fan-in), 1/sqrt(fan-in))', () => {
        const distiller = buildCase(c);
        // PyTorch's fan-in: in channels x kernel area; for a transposed conv, its weight's second dimension (out).
        const fanIn = (c.geometry.transposed ? 3 : 2) * c.geometry.kernel[0] * c.geometry.kernel[1];
        for (const name of ['regressor.0.weight', 'regressor.0.bias']) {
          const values = parameterValues(distiller, name);
          const largest = Math.max(...values.map(Math.abs));
          expect(largest, name).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
          if (values.length >= 12) expect(largest, name).toBeGreaterThan(0.5 / Math.sqrt(fanIn));
        }
        distiller.dispose();
      });

      it('computes the MSE of the regressed student map to the teacher\'s', () => {
        const distiller = buildCase(c);
        const r = regressorOf(distiller, c.geometry);
        const { s, t } = featuresOf(c, 1);
        const expected = fitnetJs(s[TAP], t[TAP], r);
        expect(expected).toBeGreaterThan(0.1);
        expectClose(lossAndGrads(distiller, s, t, [TAP]).loss, expected, `fitnet loss, ${c.what}`);
        distiller.dispose();
      });

      it('has the gradient of the formula with respect to the student\'s map and the regressor\'s kernel', () => {
        const distiller = buildCase(c);
        const r = regressorOf(distiller, c.geometry);
        const { s, t } = featuresOf(c, 3);
        // No pre-activation sits at ReLU's kink, where central differences would straddle it.
        expect(Math.min(...preActivation(s[TAP], r).values.map(Math.abs))).toBeGreaterThan(1e-3);
        const { grads } = lossAndGrads(distiller, s, t, [TAP]);
        expectGradient((values) => fitnetJs(withValues(s[TAP], values), t[TAP], r), s[TAP].values, grads[0],
          `d fitnet / d stage2, ${c.what}`);
        const kernel = distiller.namedParameters().find((p) => p.name === 'regressor.0.weight')!.variable;
        const kernelGrad = tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => distiller.loss({
            student: output(s.map(toTensor)), teacher: output(t.map(toTensor)), indices: new Int32Array(),
          }), [kernel]);
          return Array.from(g[kernel.name].dataSync());
        });
        expectGradient((values) => fitnetJs(s[TAP], t[TAP], { ...r, weight: values }), r.weight, kernelGrad,
          `d fitnet / d regressor kernel, ${c.what}`);
        distiller.dispose();
      });

      it('is zero, with a zero gradient, when the regressor\'s output equals the teacher\'s map', () => {
        const distiller = buildCase(c);
        regressorOf(distiller, c.geometry);
        const { s, t } = featuresOf(c, 5);
        const regressor = distiller.children().find(([name]) => name === 'regressor')![1];
        const regressed = tf.tidy(() => Array.from(regressor.forward(toTensor(s[TAP])).dataSync()));
        t[TAP] = withValues(t[TAP], regressed);
        const { loss, grads } = lossAndGrads(distiller, s, t, [TAP]);
        expect(loss).toBe(0);
        expect(grads[0].every((g) => g === 0)).toBe(true);
        distiller.dispose();
      });
    });
  }

  it('names the tap and sizes when the maps do not fit', () => {
    const fit = (student: number[], teacher: number[]) => () => build(withHint(OTHER_STUDENT, student), withHint(OTHER_TEACHER, teacher));
    expect(fit([2, 3, 2], [3, 5, 3])).toThrow(/^method fitnet needs tap stage2 of the student at least as large as the teacher's or half its size, got 2x3 \(student\) and 3x5 \(teacher\)$/);
    expect(fit([4, 3, 2], [3, 5, 3])).toThrow(/got 4x3 \(student\) and 3x5 \(teacher\)$/);
    expect(fit([2, 3, 2], [4, 5, 3])).toThrow(/got 2x3 \(student\) and 4x5 \(teacher\)$/);
    expect(fit([8], [4, 5, 3])).toThrow(/fitnet reads spatial maps \[H, W, C\], but tap stage2 is \[8\] \(student\)/);
    const student = withHint(OTHER_STUDENT, [4, 5, 2]);
    const teacher = withHint(OTHER_TEACHER, [4, 5, 3]);
    expect(() => build(student, teacher, ['stem', 'pooled'])).toThrow(/method fitnet reads taps \[2:3\] but the architecture has taps stem, pooled/);
    expect(() => build(student.slice(0, 2), teacher)).toThrow(/method fitnet reads tap stage2, but the setup gives 2 student/);
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(fitnet, c);
    });
  }
});
