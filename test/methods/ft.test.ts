// Factor transfer (methods/ft.ts) against the formulas worked out here in plain JS (double precision, the
// distiller's own conv and batch-norm state read back and the 3x3 convolutions computed by hand): the paraphraser's
// reconstruction loss, the main loss mean(|factor(translator(s)) - factor(encode(t))|) with the public code's factor
// (per sample, the channel mean of f^2 over the H*W positions, L2-normalised) and, as options, the FT paper's
// (the whole flattened map, L2-normalised), with the translator's batch norms (batch statistics; the default) or
// without, and the paraphraser's (running statistics in the main stage, batch ones in the pre-stage; the default) or
// without; the main loss's gradient with respect to the student's map (central differences of the JS loss); zero
// loss for identical factors; the paraphraser frozen in the main stage (no gradient, unchanged by an Adam step with
// weight decay) and the only thing trained in the pre-stage; and the shape errors. The pre-stage end to end (resume
// after a kill, the paraphraser frozen after it): test/runs/preStageResume.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { DistillInputs } from '../../methods/distiller.ts';
import { FactorTransferDistiller, ft, normalizedFactor } from '../../methods/ft.ts';
import { DEFAULT_METHOD_SETTINGS, type MethodSettings } from '../../methods/method.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import type { ClassifierOutput } from '../../models/classifier.ts';
import { BatchNorm2d, initializeParameters, type NamedParameter } from '../../models/nn/index.ts';
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

/** Batch norm of an NHWC map: batch statistics (biased variance), or the running ones; then weight and bias. */
function jsBatchNorm(m: JsMap, weights: Weights, prefix: string, running: boolean): JsMap {
  const [n, h, w, c] = m.shape;
  const count = n * h * w;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  if (running) {
    mean.set(weights.get(`${prefix}.runningMean`)!);
    variance.set(weights.get(`${prefix}.runningVar`)!);
  } else {
    m.data.forEach((v, e) => { mean[e % c] += v / count; });
    m.data.forEach((v, e) => { variance[e % c] += (v - mean[e % c]) ** 2 / count; });
  }
  const gamma = weights.get(`${prefix}.weight`)!;
  const beta = weights.get(`${prefix}.bias`)!;
  return { shape: m.shape, data: m.data.map((v, e) => (v - mean[e % c]) / Math.sqrt(variance[e % c] + 1e-5) * gamma[e % c] + beta[e % c]) };
}

type Norm = 'none' | 'batch' | 'running';

/** Three convs (Sequential children 0, 3, 6), each followed by a batch norm (children 1, 4, 7) or none, and LeakyReLU(0.1). */
function jsStack(x: JsMap, weights: Weights, prefix: string, norm: Norm): JsMap {
  let y = x;
  for (const k of [0, 3, 6]) {
    y = jsConv(y, weights.get(`${prefix}.${k}.weight`)!, weights.get(`${prefix}.${k}.bias`)!);
    if (norm !== 'none') y = jsBatchNorm(y, weights, `${prefix}.${k + 1}`, norm === 'running');
    y = { shape: y.shape, data: y.data.map((v) => (v > 0 ? v : 0.1 * v)) };
  }
  return y;
}

/** Rows scaled to unit L2 norm. */
function jsNormalized(rows: Float64Array[]): Float64Array[] {
  return rows.map((row) => {
    const norm = Math.max(Math.hypot(...row), 1e-12);
    return row.map((v) => v / norm);
  });
}

/**
 * The factor of a map, one row per sample: the public code's F.normalize(f.pow(2).mean(1).view(N, -1)) (the channel
 * mean of f^2 at each of the H*W positions), or the FT paper's flattened map, each row L2-normalised.
 */
function jsFactor(m: JsMap, paperFactor: boolean): Float64Array[] {
  const [n, h, w, c] = m.shape;
  const per = h * w * c;
  return jsNormalized(Array.from({ length: n }, (_, s) => {
    const sample = m.data.slice(s * per, (s + 1) * per);
    if (paperFactor) return sample;
    return Float64Array.from({ length: h * w }, (_, p) => sample.slice(p * c, (p + 1) * c).reduce((a, v) => a + v * v, 0) / c);
  }));
}

interface Form { translatorBn: number; paraphraserBn: number; paperFactor: number }
const DEFAULT_FORM: Form = { translatorBn: 1, paraphraserBn: 1, paperFactor: 0 };

/** Main stage: the translator's batch norms on batch statistics, the frozen paraphraser's on running ones. */
function jsMainLoss(s: JsMap, t: JsMap, weights: Weights, form: Form = DEFAULT_FORM): number {
  const fs = jsFactor(jsStack(s, weights, 'translator', form.translatorBn ? 'batch' : 'none'), form.paperFactor === 1);
  const ft_ = jsFactor(jsStack(t, weights, 'paraphraser.encoder', form.paraphraserBn ? 'running' : 'none'), form.paperFactor === 1);
  let sum = 0;
  let count = 0;
  fs.forEach((row, n) => row.forEach((v, e) => { sum += Math.abs(v - ft_[n][e]); count++; }));
  return sum / count;
}

/** Pre-stage: the paraphraser trains, its batch norms (if any) on batch statistics. */
function jsReconstructionLoss(t: JsMap, weights: Weights, form: Form = DEFAULT_FORM): number {
  const norm = form.paraphraserBn ? 'batch' : 'none';
  const rec = jsStack(jsStack(t, weights, 'paraphraser.encoder', norm), weights, 'paraphraser.decoder', norm);
  return rec.data.reduce((sum, v, e) => sum + (v - t.data[e]) ** 2, 0) / t.data.length;
}

/** A tensor's rows against JS rows, to float32 precision. */
function expectRowsClose(got: tf.Tensor2D, want: Float64Array[]): void {
  const data = got.dataSync();
  const width = got.shape[1];
  want.forEach((row, n) => row.forEach((v, e) => expect(Math.abs(data[n * width + e] - v)).toBeLessThan(1e-6)));
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

function distiller(student = STUDENT, teacher = TEACHER, seed = 5, options: Record<string, number> = {}): FactorTransferDistiller {
  const d = ft.createDistiller!({ tapNames: TAPS, studentShapes: student, teacherShapes: teacher, datasetSize: 10,
    options: { ...ft.options, ...options } }) as FactorTransferDistiller;
  initializeParameters(d, seed);
  return d;
}

/** Gives every batch norm seeded weights, biases and running statistics, so that each one shows in the loss. */
function seedBatchNorms(d: FactorTransferDistiller, seed: number): void {
  const next = seededNormal(seed);
  for (const [, m] of d.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const n = m.features;
    const draw = (f: (v: number) => number) => tf.tensor1d(randomValues(n, next).map(f));
    tf.tidy(() => {
      m.weight.assign(draw((v) => 1 + 0.3 * v));
      m.bias.assign(draw((v) => 0.2 * v));
      m.runningMean.assign(draw((v) => 0.1 * v));
      m.runningVar.assign(draw((v) => 0.5 + 0.2 * Math.abs(v)));
    });
  }
}

/** Parameters and buffers (running statistics) by path. */
const weightsOf = (d: FactorTransferDistiller): Weights =>
  new Map([...d.stateDict()].map(([path, v]) => [path, Float64Array.from(v.dataSync())]));

const snapshot = (params: NamedParameter[]) => new Map(params.map((p) => [p.name, Array.from(p.variable.dataSync())]));
const isParaphraser = (name: string) => name.startsWith('paraphraser.');

describe('ft', () => {
  it('declares the public code\'s setting: taps[-2], beta 200, rate 0.5, a 30-epoch paraphraser pre-stage, BN in the translator and the paraphraser', () => {
    expect(ft.tapsRead(['stem', 'stage1', 'stage2', 'stage3', 'pooled'])).toEqual([3]);
    expect(ft.beta).toBe(200);
    expect(ft.options).toEqual({ rate: 0.5, translatorBn: 1, paraphraserBn: 1, paperFactor: 0 });
    expect(ft.preEpochs).toBe(30);
    expect(ft.labelFree.possible).toBe(true);
    const d = distiller();
    expect(d.usedInMainStage).toBe(true);
    expect(d.preStage?.trains).toEqual({ distillerChild: 'paraphraser' });
    const shapes = new Map(d.namedParameters().map((p) => [p.name, p.variable.shape]));
    expect(shapes.get('paraphraser.encoder.0.weight')).toEqual([3, 3, 6, 6]);
    expect(shapes.get('paraphraser.encoder.6.weight')).toEqual([3, 3, 3, 3]);
    expect(shapes.get('paraphraser.decoder.6.weight')).toEqual([3, 3, 6, 6]);
    expect(shapes.get('translator.0.weight')).toEqual([3, 3, 4, 4]);
    expect(shapes.get('translator.6.weight')).toEqual([3, 3, 3, 3]);
    // Convs at children 0, 3, 6 (the public code's nn.Sequential indices), batch norms at 1, 4, 7 of every stack.
    expect(shapes.get('translator.1.weight')).toEqual([4]);
    expect(shapes.get('translator.7.bias')).toEqual([3]);
    expect(shapes.get('paraphraser.encoder.4.weight')).toEqual([3]);
    expect(shapes.get('paraphraser.decoder.7.weight')).toEqual([6]);
    expect(shapes.size).toBe(18 + 18);
    const translatorOnly = distiller(STUDENT, TEACHER, 5, { paraphraserBn: 0 });
    const names = translatorOnly.namedParameters().map((p) => p.name);
    expect(names.filter((n) => /^paraphraser\.\w+\.[147]\./.test(n))).toEqual([]);
    expect(names.filter((n) => /^translator\.[147]\.weight$/.test(n)).length).toBe(3);
    const noBn = distiller(STUDENT, TEACHER, 5, { paraphraserBn: 0, translatorBn: 0 });
    expect(noBn.namedParameters().length).toBe(18);
  });

  const FORMS: Form[] = [DEFAULT_FORM, { ...DEFAULT_FORM, paperFactor: 1 }, { translatorBn: 0, paraphraserBn: 1, paperFactor: 0 },
    { translatorBn: 1, paraphraserBn: 0, paperFactor: 0 }, { translatorBn: 0, paraphraserBn: 0, paperFactor: 1 }];
  for (const form of FORMS) {
    it(`losses and the main loss's gradient match the formulas computed in plain JS (${JSON.stringify(form)})`, () => {
      const d = distiller(STUDENT, TEACHER, 5, { ...form });
      seedBatchNorms(d, 7);
      const weights = weightsOf(d);
      const s = makeMap(STUDENT[1], 11);
      const t = makeMap(TEACHER[1], 12);
      const inputs = (student: tf.Tensor): DistillInputs =>
        ({ student: output(student), teacher: output(t.tensor), indices: new Int32Array() });

      const main = d.loss(inputs(s.tensor)).dataSync()[0];
      const wantMain = jsMainLoss(s.js, t.js, weights, form);
      expect(wantMain).toBeGreaterThan(0.01);
      expect(Math.abs(main - wantMain)).toBeLessThan(1e-5 * wantMain);
      // The frozen paraphraser ran in evaluation mode: its running statistics did not move, and its mode is back.
      const paraphraserState = () => [...weightsOf(d)].filter(([k]) => k.startsWith('paraphraser.'));
      expect(paraphraserState()).toEqual([...weights].filter(([k]) => k.startsWith('paraphraser.')));
      expect(d.namedModules().find(([path]) => path === 'paraphraser')![1].training).toBe(true);

      const [grad] = tf.grads((x: tf.Tensor) => d.loss(inputs(x)))([s.tensor]);
      const got = grad.dataSync();
      const h = 1e-6;
      let maxGrad = 0;
      let maxError = 0;
      for (let e = 0; e < s.js.data.length; e++) {
        const keep = s.js.data[e];
        s.js.data[e] = keep + h;
        const up = jsMainLoss(s.js, t.js, weights, form);
        s.js.data[e] = keep - h;
        const down = jsMainLoss(s.js, t.js, weights, form);
        s.js.data[e] = keep;
        const want = (up - down) / (2 * h);
        maxGrad = Math.max(maxGrad, Math.abs(want));
        maxError = Math.max(maxError, Math.abs(got[e] - want));
      }
      expect(maxGrad).toBeGreaterThan(1e-4);
      expect(maxError).toBeLessThan(1e-3 * maxGrad);

      // The pre-stage trains the paraphraser in training mode: batch statistics, and its running ones move.
      const reconstruction = d.preStage!.loss(inputs(s.tensor)).dataSync()[0];
      const wantReconstruction = jsReconstructionLoss(t.js, weights, form);
      expect(Math.abs(reconstruction - wantReconstruction)).toBeLessThan(1e-5 * wantReconstruction);
      if (form.paraphraserBn) expect(paraphraserState()).not.toEqual([...weights].filter(([k]) => k.startsWith('paraphraser.')));
    });
  }

  it('the factors of the public code and of the FT paper differ, and so do the losses', () => {
    const s = makeMap(STUDENT[1], 13);
    const t = makeMap(TEACHER[1], 14);
    const losses = [0, 1].map((paperFactor) => distiller(STUDENT, TEACHER, 5, { paperFactor })
      .loss({ student: output(s.tensor), teacher: output(t.tensor), indices: new Int32Array() }).dataSync()[0]);
    expect(Math.abs(losses[0] - losses[1])).toBeGreaterThan(1e-3);
    // The public code's factor: one value per position (3x3 = 9), each row of unit norm.
    const factor = normalizedFactor(t.tensor, false);
    expect(factor.shape).toEqual([N, 9]);
    expectRowsClose(factor, jsFactor(t.js, false));
    expect(normalizedFactor(t.tensor, true).shape).toEqual([N, 3 * 3 * 6]);
    expectRowsClose(normalizedFactor(t.tensor, true), jsFactor(t.js, true));
  });

  it('rejects option values other than 0 and 1', () => {
    for (const name of ['translatorBn', 'paraphraserBn', 'paperFactor']) {
      expect(() => distiller(STUDENT, TEACHER, 5, { [name]: 0.5 })).toThrow(new RegExp(`^method ft: option ${name} must be 0 or 1, got 0.5$`));
    }
  });

  it('is zero when the translator and the encoder produce identical factors', () => {
    const same = [[6, 6, 2], [3, 3, 4], [4]];
    // Without batch norms: the translator's would normalise with batch statistics, the frozen encoder's with running ones.
    const d = distiller(same, same, 5, { translatorBn: 0, paraphraserBn: 0 });
    const params = new Map(d.namedParameters().map((p) => [p.name, p.variable]));
    for (const k of [0, 3, 6]) {
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
    expect(paraphraser.length).toBe(24);  // six convs and six batch norms, weight and bias each
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
