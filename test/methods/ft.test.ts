// Factor transfer (methods/ft.ts) against the paper's formulas worked out here in plain JS (double precision, the
// distiller's own conv weights read back and the 3x3 convolutions computed by hand): the paraphraser's
// reconstruction loss, the main loss mean(|normalize(translator(s)) - normalize(encode(t))|) and its gradient with
// respect to the student's map (central differences of the JS loss); zero loss for identical factors; the
// paraphraser frozen in the main stage (no gradient, unchanged by an Adam step with weight decay) and the only
// thing trained in the pre-stage; and the shape errors. The pre-stage end to end (resume after a kill, the
// paraphraser frozen after it): test/runs/preStageResume.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { DistillInputs } from '../../methods/distiller.ts';
import { FactorTransferDistiller, ft } from '../../methods/ft.ts';
import { DEFAULT_METHOD_SETTINGS, type MethodSettings } from '../../methods/method.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import type { ClassifierOutput } from '../../models/classifier.ts';
import { initializeParameters, type NamedParameter } from '../../models/nn/index.ts';
import { Adam } from '../../runs/optim/adam.ts';
import { randomValues, seededNormal } from '../support/random.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// ---- Plain-JS factor transfer (double precision), NHWC maps as flat arrays ----

interface JsMap { shape: [number, number, number, number]; data: Float64Array }
type Weights = Map<string, Float64Array>;

/** 3x3 convolution, stride 1, zero padding 1, HWIO weights, plus bias. */
function jsConv(x: JsMap, w: Float64Array, b: Float64Array): JsMap {
  const [n, h, wd, ci] = x.shape;
  const co = b.length;
  const out = new Float64Array(n * h * wd * co);
  for (let s = 0; s < n; s++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < wd; xx++) {
        for (let o = 0; o < co; o++) {
          let sum = b[o];
          for (let ky = 0; ky < 3; ky++) {
            const yy = y + ky - 1;
            if (yy < 0 || yy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const xi = xx + kx - 1;
              if (xi < 0 || xi >= wd) continue;
              for (let i = 0; i < ci; i++) sum += x.data[((s * h + yy) * wd + xi) * ci + i] * w[((ky * 3 + kx) * ci + i) * co + o];
            }
          }
          out[((s * h + y) * wd + xx) * co + o] = sum;
        }
      }
    }
  }
  return { shape: [n, h, wd, co], data: out };
}

/** Three convs (Sequential children 0, 2, 4), each followed by LeakyReLU(0.1). */
function jsStack(x: JsMap, weights: Weights, prefix: string): JsMap {
  let y = x;
  for (const k of [0, 2, 4]) {
    y = jsConv(y, weights.get(`${prefix}.${k}.weight`)!, weights.get(`${prefix}.${k}.bias`)!);
    y = { shape: y.shape, data: y.data.map((v) => (v > 0 ? v : 0.1 * v)) };
  }
  return y;
}

/** Rows (samples) of a map scaled to unit L2 norm. */
function jsNormalizedRows(m: JsMap): Float64Array[] {
  const per = m.data.length / m.shape[0];
  return Array.from({ length: m.shape[0] }, (_, s) => {
    const row = m.data.slice(s * per, (s + 1) * per);
    const norm = Math.max(Math.hypot(...row), 1e-12);
    return row.map((v) => v / norm);
  });
}

function jsMainLoss(s: JsMap, t: JsMap, weights: Weights): number {
  const fs = jsNormalizedRows(jsStack(s, weights, 'translator'));
  const ft_ = jsNormalizedRows(jsStack(t, weights, 'paraphraser.encoder'));
  let sum = 0;
  let count = 0;
  fs.forEach((row, n) => row.forEach((v, e) => { sum += Math.abs(v - ft_[n][e]); count++; }));
  return sum / count;
}

function jsReconstructionLoss(t: JsMap, weights: Weights): number {
  const rec = jsStack(jsStack(t, weights, 'paraphraser.encoder'), weights, 'paraphraser.decoder');
  return rec.data.reduce((sum, v, e) => sum + (v - t.data[e]) ** 2, 0) / t.data.length;
}

// ---- Fixtures ----

const N = 2;
const TAPS = ['stem', 'stage1', 'pooled'];
/** taps[-2] = stage1: the student's map is 3x3x4, the teacher's 3x3x6 (factor: 3 channels at rate 0.5). */
const STUDENT: number[][] = [[6, 6, 2], [3, 3, 4], [4]];
const TEACHER: number[][] = [[6, 6, 2], [3, 3, 6], [6]];

function makeMap(shape: number[], seed: number): { js: JsMap; tensor: tf.Tensor4D } {
  const [h, w, c] = shape;
  const values = randomValues(N * h * w * c, seededNormal(seed));
  return { js: { shape: [N, h, w, c], data: Float64Array.from(values) }, tensor: tf.tensor4d(values, [N, h, w, c]) };
}

const output = (stage: tf.Tensor, logits: tf.Tensor = tf.zeros([N, 3])): ClassifierOutput =>
  ({ logits: logits as tf.Tensor2D, features: [tf.zeros([N, 6, 6, 2]), stage, tf.zeros([N, stage.shape[3]!])] });

function distiller(student = STUDENT, teacher = TEACHER, seed = 5): FactorTransferDistiller {
  const d = ft.createDistiller!({ tapNames: TAPS, studentShapes: student, teacherShapes: teacher, datasetSize: 10,
    options: { ...ft.options } }) as FactorTransferDistiller;
  initializeParameters(d, seed);
  return d;
}

const weightsOf = (d: FactorTransferDistiller): Weights =>
  new Map(d.namedParameters().map((p) => [p.name, Float64Array.from(p.variable.dataSync())]));

const snapshot = (params: NamedParameter[]) => new Map(params.map((p) => [p.name, Array.from(p.variable.dataSync())]));
const isParaphraser = (name: string) => name.startsWith('paraphraser.');

describe('ft', () => {
  it('declares the paper\'s setting: taps[-2], beta 200, rate 0.5, a 30-epoch paraphraser pre-stage', () => {
    expect(ft.tapsRead(['stem', 'stage1', 'stage2', 'stage3', 'pooled'])).toEqual([3]);
    expect(ft.beta).toBe(200);
    expect(ft.options).toEqual({ rate: 0.5 });
    expect(ft.preEpochs).toBe(30);
    expect(ft.labelFree.possible).toBe(true);
    const d = distiller();
    expect(d.usedInMainStage).toBe(true);
    expect(d.preStage?.trains).toEqual({ distillerChild: 'paraphraser' });
    const shapes = new Map(d.namedParameters().map((p) => [p.name, p.variable.shape]));
    expect(shapes.get('paraphraser.encoder.0.weight')).toEqual([3, 3, 6, 6]);
    expect(shapes.get('paraphraser.encoder.4.weight')).toEqual([3, 3, 3, 3]);
    expect(shapes.get('paraphraser.decoder.4.weight')).toEqual([3, 3, 6, 6]);
    expect(shapes.get('translator.0.weight')).toEqual([3, 3, 4, 4]);
    expect(shapes.get('translator.4.weight')).toEqual([3, 3, 3, 3]);
    expect(shapes.size).toBe(18);
  });

  it('losses and the main loss\'s gradient match the formulas computed in plain JS', () => {
    const d = distiller();
    const weights = weightsOf(d);
    const s = makeMap(STUDENT[1], 11);
    const t = makeMap(TEACHER[1], 12);
    const inputs = (student: tf.Tensor): DistillInputs =>
      ({ student: output(student), teacher: output(t.tensor), indices: new Int32Array() });

    const reconstruction = d.preStage!.loss(inputs(s.tensor)).dataSync()[0];
    const wantReconstruction = jsReconstructionLoss(t.js, weights);
    expect(Math.abs(reconstruction - wantReconstruction)).toBeLessThan(1e-5 * wantReconstruction);

    const main = d.loss(inputs(s.tensor)).dataSync()[0];
    const wantMain = jsMainLoss(s.js, t.js, weights);
    expect(wantMain).toBeGreaterThan(0.01);
    expect(Math.abs(main - wantMain)).toBeLessThan(1e-5 * wantMain);

    const [grad] = tf.grads((x: tf.Tensor) => d.loss(inputs(x)))([s.tensor]);
    const got = grad.dataSync();
    const h = 1e-6;
    let maxGrad = 0;
    let maxError = 0;
    for (let e = 0; e < s.js.data.length; e++) {
      const keep = s.js.data[e];
      s.js.data[e] = keep + h;
      const up = jsMainLoss(s.js, t.js, weights);
      s.js.data[e] = keep - h;
      const down = jsMainLoss(s.js, t.js, weights);
      s.js.data[e] = keep;
      const want = (up - down) / (2 * h);
      maxGrad = Math.max(maxGrad, Math.abs(want));
      maxError = Math.max(maxError, Math.abs(got[e] - want));
    }
    expect(maxGrad).toBeGreaterThan(1e-4);
    expect(maxError).toBeLessThan(1e-3 * maxGrad);
  });

  it('is zero when the translator and the encoder produce identical factors', () => {
    const same = [[6, 6, 2], [3, 3, 4], [4]];
    const d = distiller(same, same);
    const params = new Map(d.namedParameters().map((p) => [p.name, p.variable]));
    for (const k of [0, 2, 4]) {
      for (const what of ['weight', 'bias']) {
        params.get(`translator.${k}.${what}`)!.assign(params.get(`paraphraser.encoder.${k}.${what}`)!);
      }
    }
    const x = makeMap(same[1], 21).tensor;
    expect(d.loss({ student: output(x), teacher: output(x), indices: new Int32Array() }).dataSync()[0]).toBe(0);
    // Different maps, same weights: not zero.
    const y = makeMap(same[1], 22).tensor;
    expect(d.loss({ student: output(y), teacher: output(x), indices: new Int32Array() }).dataSync()[0]).toBeGreaterThan(0.01);
  });

  it('main stage: the paraphraser gets no gradient and an Adam step with weight decay leaves it unchanged', () => {
    const d = distiller();
    const s = tf.variable(makeMap(STUDENT[1], 31).tensor, true, 'ft-test-student-map');
    const logits = tf.variable(tf.tensor2d([[1, -1, 0.5], [0, 2, -0.5]]), true, 'ft-test-logits');
    const t = makeMap(TEACHER[1], 32).tensor;
    const params: NamedParameter[] = [...d.namedParameters(), { name: 's', variable: s, group: 'model' },
      { name: 'logits', variable: logits, group: 'model' }];
    const adam = new Adam(params, { lr: 0.01, weightDecay: 0.1 });
    const settings: MethodSettings = { ...DEFAULT_METHOD_SETTINGS, alpha: 0, beta: ft.beta, preEpochs: ft.preEpochs };
    const before = snapshot(params);
    const { value, grads } = tf.variableGrads(() => trainingLoss(ft, d, settings, {
      student: output(s, logits), teacher: output(t), labels: tf.tensor1d([2, 1], 'int32'),
    }), adam.variables());
    const named = new Map(params.map((p) => [p.variable.name, p.name]));
    const withGradient = Object.keys(grads).map((v) => named.get(v)!).sort();
    expect(withGradient).toEqual(params.map((p) => p.name).filter((n) => !isParaphraser(n)).sort());
    // The loss is CE + beta * FT.
    const ce = [[1, -1, 0.5], [0, 2, -0.5]].reduce((sum, z, i) =>
      sum + Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[[2, 1][i]], 0) / 2;
    const ftLoss = d.loss({ student: output(s), teacher: output(t), indices: new Int32Array() }).dataSync()[0];
    expect(Math.abs(value.dataSync()[0] - (ce + ft.beta * ftLoss))).toBeLessThan(1e-4);
    adam.apply(grads);
    const after = snapshot(params);
    for (const p of params) {
      if (isParaphraser(p.name)) expect(after.get(p.name), p.name).toEqual(before.get(p.name));
      else expect(after.get(p.name), p.name).not.toEqual(before.get(p.name));
    }
    adam.dispose();
  });

  it('label-free, the main loss is beta times the FT loss and reads no labels', () => {
    const d = distiller();
    const s = makeMap(STUDENT[1], 41).tensor;
    const t = makeMap(TEACHER[1], 42).tensor;
    const settings: MethodSettings = { ...DEFAULT_METHOD_SETTINGS, alpha: 0, beta: ft.beta, labelFree: true };
    const loss = trainingLoss(ft, d, settings, { student: output(s), teacher: output(t) }).dataSync()[0];
    const ftLoss = d.loss({ student: output(s), teacher: output(t), indices: new Int32Array() }).dataSync()[0];
    expect(loss).toBeCloseTo(ft.beta * ftLoss, 4);
  });

  it('pre-stage: only the paraphraser has a gradient and changes; the trainer selects exactly its parameters', () => {
    const d = distiller();
    const s = tf.variable(makeMap(STUDENT[1], 51).tensor, true, 'ft-test-student-map-2');
    const t = makeMap(TEACHER[1], 52).tensor;
    const params: NamedParameter[] = [...d.namedParameters(), { name: 's', variable: s, group: 'model' }];
    const adam = new Adam(params, { lr: 0.01, weightDecay: 0.1 });
    const before = snapshot(params);
    const inputs: DistillInputs = { student: output(s), teacher: output(t), indices: new Int32Array() };
    const { grads } = tf.variableGrads(() => d.preStage!.loss(inputs), adam.variables());
    const named = new Map(params.map((p) => [p.variable.name, p.name]));
    const paraphraser = params.map((p) => p.name).filter(isParaphraser).sort();
    expect(paraphraser.length).toBe(12);
    expect(Object.keys(grads).map((v) => named.get(v)!).sort()).toEqual(paraphraser);
    adam.apply(grads);
    const after = snapshot(params);
    for (const p of params) {
      if (isParaphraser(p.name)) expect(after.get(p.name), p.name).not.toEqual(before.get(p.name));
      else expect(after.get(p.name), p.name).toEqual(before.get(p.name));
    }
    adam.dispose();
    // runs/trainer.ts picks a { distillerChild } pre-stage's parameters by this prefix.
    const picked = d.namedParameters('distiller').filter((p) => p.name.startsWith('distiller.paraphraser.')).map((p) => p.name);
    expect(picked.map((n) => n.slice('distiller.'.length)).sort()).toEqual(paraphraser);
  });

  it('rejects taps it cannot use, with one-line errors naming them', () => {
    const setup = (student: number[][], teacher: number[][], options: Record<string, number> = { rate: 0.5 }) =>
      ({ tapNames: TAPS, studentShapes: student, teacherShapes: teacher, datasetSize: 10, options });
    expect(() => ft.createDistiller!(setup(STUDENT, [[6, 6, 2], [2, 2, 6], [6]])))
      .toThrow(/^method ft needs tap stage1 at the same spatial size in student and teacher, got 3x3 and 2x2$/);
    expect(() => ft.createDistiller!(setup(STUDENT, TEACHER, { rate: 0 }))).toThrow(/^method ft needs a factor rate > 0/);
    expect(() => ft.tapsRead(['pooled'])).toThrow(/^method ft reads taps \[-2:-1\]/);
  });
});
