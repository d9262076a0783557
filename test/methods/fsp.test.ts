// FSP (methods/fsp.ts) against the paper's formula worked out here in plain JS (double precision): the FSP matrix
// G = F1^T F2 / (H W) of consecutive maps (the larger average-pooled to the smaller), the loss as the sum over
// pairs of mean((G_s - G_t)^2) (the public code's; option meanOverPairs 1: the mean over pairs), and its gradient
// with respect to the student's maps (central differences of the JS loss); zero loss for identical features; no FSP
// term in the main stage (the training loss is plain
// cross-entropy); and the shape errors. The pre-stage end to end (resume after a kill): test/runs/preStageResume.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { DistillInputs, FeatureDistiller } from '../../methods/distiller.ts';
import { fsp } from '../../methods/fsp.ts';
import { DEFAULT_METHOD_SETTINGS, type MethodSettings } from '../../methods/method.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import type { ClassifierOutput } from '../../models/classifier.ts';
import { randomValues, seededNormal } from '../support/random.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// ---- Plain-JS FSP (double precision), NHWC maps as flat arrays ----

interface JsMap { shape: [number, number, number, number]; data: Float64Array }

/** Average pooling of non-overlapping windows down to [toH, toW]. */
function jsPool(m: JsMap, toH: number, toW: number): JsMap {
  const [n, h, w, c] = m.shape;
  const fh = h / toH;
  const fw = w / toW;
  const out = new Float64Array(n * toH * toW * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < toH; y++) {
      for (let x = 0; x < toW; x++) {
        for (let k = 0; k < c; k++) {
          let sum = 0;
          for (let dy = 0; dy < fh; dy++) {
            for (let dx = 0; dx < fw; dx++) sum += m.data[((b * h + y * fh + dy) * w + x * fw + dx) * c + k];
          }
          out[((b * toH + y) * toW + x) * c + k] = sum / (fh * fw);
        }
      }
    }
  }
  return { shape: [n, toH, toW, c], data: out };
}

/** G[b][i][j] = sum_p F1[b, p, i] F2[b, p, j] / P, flattened [N, C1, C2]. */
function jsFsp(first: JsMap, second: JsMap): { data: Float64Array; c1: number; c2: number } {
  let [a, b] = [first, second];
  if (a.shape[1] * a.shape[2] > b.shape[1] * b.shape[2]) a = jsPool(a, b.shape[1], b.shape[2]);
  else if (b.shape[1] * b.shape[2] > a.shape[1] * a.shape[2]) b = jsPool(b, a.shape[1], a.shape[2]);
  const [n, h, w, c1] = a.shape;
  const c2 = b.shape[3];
  const p = h * w;
  const g = new Float64Array(n * c1 * c2);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < c1; i++) {
      for (let j = 0; j < c2; j++) {
        let sum = 0;
        for (let q = 0; q < p; q++) sum += a.data[(s * p + q) * c1 + i] * b.data[(s * p + q) * c2 + j];
        g[(s * c1 + i) * c2 + j] = sum / p;
      }
    }
  }
  return { data: g, c1, c2 };
}

function jsFspLoss(student: JsMap[], teacher: JsMap[], meanOverPairs = false): number {
  let total = 0;
  for (let k = 0; k + 1 < student.length; k++) {
    const gs = jsFsp(student[k], student[k + 1]).data;
    const gt = jsFsp(teacher[k], teacher[k + 1]).data;
    let sum = 0;
    for (let e = 0; e < gs.length; e++) sum += (gs[e] - gt[e]) ** 2;
    total += sum / gs.length;
  }
  return meanOverPairs ? total / (student.length - 1) : total;
}

// ---- Fixtures ----

const N = 2;
const TAPS = ['stem', 'stage1', 'stage2', 'pooled'];
/** Stage maps: 4x4 then 2x2 (pooled 2x2 in the first pair), channels 3, 5, 4; the pooled vector 4. */
const SHAPES: Array<[number, number, number]> = [[4, 4, 3], [2, 2, 5], [2, 2, 4]];

function makeMaps(seed: number): { js: JsMap[]; tensors: tf.Tensor[] } {
  const next = seededNormal(seed);
  const js: JsMap[] = [];
  const tensors: tf.Tensor[] = [];
  for (const [h, w, c] of SHAPES) {
    const values = randomValues(N * h * w * c, next);
    js.push({ shape: [N, h, w, c], data: Float64Array.from(values) });
    tensors.push(tf.tensor4d(values, [N, h, w, c]));
  }
  return { js, tensors };
}

const output = (features: tf.Tensor[], logits = tf.zeros([N, 3])): ClassifierOutput =>
  ({ logits: logits as tf.Tensor2D, features: [...features, tf.zeros([N, 4])] });

function distiller(options: Record<string, number> = {}): FeatureDistiller {
  const shapes = [...SHAPES.map((s) => [...s]), [4]];
  return fsp.createDistiller!({ tapNames: TAPS, studentShapes: shapes, teacherShapes: shapes, datasetSize: 10, options });
}

describe('fsp', () => {
  it('declares the paper\'s setting: taps[:-1], beta 50, a 30-epoch pre-stage on the student features, CE only after', () => {
    expect(fsp.tapsRead(['stem', 'stage1', 'stage2', 'stage3', 'pooled'])).toEqual([0, 1, 2, 3]);
    expect(fsp.beta).toBe(50);
    expect(fsp.preEpochs).toBe(30);
    expect(fsp.labelFree.possible).toBe(false);
    expect(fsp.options).toEqual({ meanOverPairs: 0 });
    const d = distiller();
    expect(d.usedInMainStage).toBe(false);
    expect(d.preStage?.trains).toBe('student-features');
    expect(d.namedParameters()).toEqual([]);
  });

  it('pre-stage loss and its gradient match the formula computed in plain JS', () => {
    const d = distiller();
    const s = makeMaps(11);
    const t = makeMaps(12);
    const inputs = (student: tf.Tensor[]): DistillInputs =>
      ({ student: output(student), teacher: output(t.tensors), indices: new Int32Array() });
    const expected = jsFspLoss(s.js, t.js);
    const value = d.preStage!.loss(inputs(s.tensors)).dataSync()[0];
    expect(Math.abs(value - expected)).toBeLessThan(1e-5 * Math.abs(expected));
    expect(d.loss(inputs(s.tensors)).dataSync()[0]).toBe(value);
    // Two pairs: the option's mean over pairs is half the default's sum.
    const mean = distiller({ meanOverPairs: 1 }).preStage!.loss(inputs(s.tensors)).dataSync()[0];
    expect(Math.abs(mean - jsFspLoss(s.js, t.js, true))).toBeLessThan(1e-5 * Math.abs(expected));
    expect(Math.abs(mean - value / 2)).toBeLessThan(1e-5 * Math.abs(expected));

    // Gradient with respect to every student map: central differences of the JS loss (a quartic: exact up to rounding).
    const grads = tf.grads((...xs: tf.Tensor[]) => d.preStage!.loss(inputs(xs)))(s.tensors);
    const h = 1e-5;
    let maxGrad = 0;
    let maxError = 0;
    s.js.forEach((map, k) => {
      const got = grads[k].dataSync();
      for (let e = 0; e < map.data.length; e++) {
        const keep = map.data[e];
        map.data[e] = keep + h;
        const up = jsFspLoss(s.js, t.js);
        map.data[e] = keep - h;
        const down = jsFspLoss(s.js, t.js);
        map.data[e] = keep;
        const want = (up - down) / (2 * h);
        maxGrad = Math.max(maxGrad, Math.abs(want));
        maxError = Math.max(maxError, Math.abs(got[e] - want));
      }
    });
    expect(maxGrad).toBeGreaterThan(1e-3);
    expect(maxError).toBeLessThan(1e-4 * maxGrad);
  });

  it('is zero when the student\'s features are the teacher\'s', () => {
    const d = distiller();
    const s = makeMaps(21);
    const value = d.preStage!.loss({ student: output(s.tensors), teacher: output(s.tensors), indices: new Int32Array() });
    expect(value.dataSync()[0]).toBe(0);
  });

  it('adds nothing to the main stage: the training loss is plain cross-entropy', () => {
    const d = distiller();
    const s = makeMaps(31);
    const t = makeMaps(32);
    const logits = [[1.5, -0.5, 0.25], [-1, 2, 0.5]];
    const labels = [2, 1];
    const settings: MethodSettings = { ...DEFAULT_METHOD_SETTINGS, alpha: 0, beta: fsp.beta, preEpochs: fsp.preEpochs };
    const loss = trainingLoss(fsp, d, settings, {
      student: output(s.tensors, tf.tensor2d(logits)), teacher: output(t.tensors), labels: tf.tensor1d(labels, 'int32'),
    }).dataSync()[0];
    const ce = logits.reduce((sum, z, i) => {
      const logSumExp = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
      return sum + logSumExp - z[labels[i]];
    }, 0) / logits.length;
    expect(jsFspLoss(s.js, t.js)).toBeGreaterThan(0.1);
    expect(Math.abs(loss - ce)).toBeLessThan(1e-6);
  });

  it('rejects taps it cannot pair, with one-line errors naming them', () => {
    const setup = (student: number[][], teacher = student) =>
      ({ tapNames: TAPS, studentShapes: student, teacherShapes: teacher, datasetSize: 10, options: {} });
    const ok = [[4, 4, 3], [2, 2, 5], [2, 2, 4], [4]];
    expect(() => fsp.createDistiller!(setup(ok, [[4, 4, 3], [2, 2, 6], [2, 2, 4], [4]])))
      .toThrow(/^method fsp needs tap stage1 with the same channels in student and teacher.*6$/);
    expect(() => fsp.createDistiller!(setup([[5, 5, 3], [2, 2, 5], [2, 2, 4], [4]])))
      .toThrow(/^method fsp pools the larger of taps stem \(5x5\) and stage1 \(2x2\)/);
    expect(() => fsp.tapsRead(['pooled'])).toThrow(/^method fsp reads taps \[0:-1\]/);
    expect(() => fsp.createDistiller!({ ...setup([[2, 2, 3], [4]]), tapNames: ['stem', 'pooled'] }))
      .toThrow(/^method fsp needs at least two stage maps/);
    expect(() => fsp.createDistiller!({ ...setup(ok), options: { meanOverPairs: 0.5 } }))
      .toThrow(/^method fsp: option meanOverPairs must be 0 or 1, got 0.5$/);
  });
});
