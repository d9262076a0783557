// Shared pieces of the feature-method tests (NST, SP, RKD, FitNet, CC): fixed seeded features for a small stand-in
// model, plain-JS (double) accessors for them, the loss and its gradient with respect to student features, checks
// against values and central differences computed in the tests, and the run of a method on real architectures.
// The formulas themselves are written out in each test, never taken from the implementation.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

import type { DistillerSetup, FeatureDistiller } from '../../../methods/distiller.ts';
import type { TrainingMethod } from '../../../methods/method.ts';
import type { ClassifierOutput } from '../../../models/classifier.ts';
import { initializeParameters } from '../../../models/nn/index.ts';
import { createModel } from '../../../models/registry.ts';
import { randomValues, seededNormal } from '../../support/random.ts';

/** The taps of the stand-in model (ResNet-like: three stages between a stem and the pooled vector). */
export const TAP_NAMES = ['stem', 'stage1', 'stage2', 'stage3', 'pooled'] as const;

/** A feature tensor's values in plain JS: float32 numbers (as doubles), row-major, with the batch in `shape`. */
export interface Feature {
  shape: number[];
  values: number[];
}

/** Seeded standard-normal features (times `scale`), shape with the batch. */
export function seededFeature(shape: number[], seed: number, scale = 1): Feature {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Array.from(randomValues(size, seededNormal(seed), scale)) };
}

/** One seeded feature per tap: `shapes` are without the batch. */
export function seededFeatures(batch: number, shapes: number[][], seed: number, scale = 1): Feature[] {
  return shapes.map((shape, i) => seededFeature([batch, ...shape], seed * 100 + i, scale));
}

/** The same shape with other values (e.g. a perturbed input for central differences, kept in double). */
export function withValues(f: Feature, values: number[]): Feature {
  return { shape: f.shape, values };
}

export function toTensor(f: Feature): tf.Tensor {
  return tf.tensor(f.values, f.shape, 'float32');
}

/** A ClassifierOutput around feature tensors (the logits are not read by feature methods). */
export function output(features: tf.Tensor[]): ClassifierOutput {
  return { logits: tf.zeros([features[0].shape[0], 2]), features };
}

/** The per-sample rows of a feature (flattened [N, D]). */
export function rows(f: Feature): number[][] {
  const n = f.shape[0];
  const d = f.values.length / n;
  return Array.from({ length: n }, (_, i) => f.values.slice(i * d, (i + 1) * d));
}

/** Value of an NHWC feature at [n, h, w, c]. */
export function nhwc(f: Feature, n: number, h: number, w: number, c: number): number {
  const [, H, W, C] = f.shape;
  return f.values[((n * H + h) * W + w) * C + c];
}

export const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
export const norm = (a: number[]) => Math.sqrt(dot(a, a));
export const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
export const mean = (a: number[]) => sum(a) / a.length;

export function setupFor(studentShapes: number[][], teacherShapes: number[][], options: Record<string, number>,
  tapNames: readonly string[] = TAP_NAMES): DistillerSetup {
  return { tapNames, studentShapes, teacherShapes, datasetSize: 10, options };
}

/** The distiller's parameter of this path, as plain numbers. */
export function parameterValues(distiller: FeatureDistiller, path: string): number[] {
  const p = distiller.namedParameters().find((q) => q.name === path);
  if (!p) throw new Error(`no parameter ${path} (have ${distiller.namedParameters().map((q) => q.name).join(', ')})`);
  return Array.from(p.variable.dataSync());
}

/** Sets the distiller's parameter of this path to seeded normal values times `scale`; returns them (float32). */
export function assignSeeded(distiller: FeatureDistiller, path: string, seed: number, scale = 1): number[] {
  const p = distiller.namedParameters().find((q) => q.name === path)!;
  const values = randomValues(p.variable.size, seededNormal(seed), scale);
  p.variable.assign(tf.tensor(values, p.variable.shape));
  return Array.from(values);
}

/**
 * The distiller's loss on fixed features, and its gradients with respect to the student features of the taps in
 * `wrt` (in that order). Leaves no tensor behind.
 */
export function lossAndGrads(distiller: FeatureDistiller, student: Feature[], teacher: Feature[], wrt: number[]):
  { loss: number; grads: number[][] } {
  const before = tf.memory().numTensors;
  const result = tf.tidy(() => {
    const s = student.map(toTensor);
    const t = output(teacher.map(toTensor));
    const f = (...xs: tf.Tensor[]) => {
      const features = s.slice();
      wrt.forEach((tap, k) => { features[tap] = xs[k]; });
      return distiller.loss({ student: output(features), teacher: t, indices: new Int32Array() });
    };
    const { value, grads } = tf.valueAndGrads(f)(wrt.map((i) => s[i]));
    return { loss: value.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
  });
  expect(tf.memory().numTensors, 'tensors left by the loss').toBe(before);
  return result;
}

/** The distiller's loss alone. */
export function lossValue(distiller: FeatureDistiller, student: Feature[], teacher: Feature[]): number {
  return tf.tidy(() => distiller.loss({
    student: output(student.map(toTensor)), teacher: output(teacher.map(toTensor)), indices: new Int32Array(),
  }).dataSync()[0]);
}

export function expectClose(actual: number, expected: number, what: string, rtol = 1e-4, atol = 1e-6): void {
  const tolerance = atol + rtol * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (tolerance ${tolerance})`);
  }
}

/**
 * Checks a gradient (float32, from tfjs) against central differences, in double, of a plain-JS loss: along every
 * coordinate, and along one random direction. The tolerance is relative to the gradient's largest entry.
 */
export function expectGradient(lossJs: (values: number[]) => number, values: number[], grad: number[], what: string,
  options: { h?: number; rtol?: number; seed?: number } = {}): void {
  const h = options.h ?? 1e-6;
  const rtol = options.rtol ?? 2e-3;
  expect(grad.length, `${what}: gradient length`).toBe(values.length);
  const numeric = values.map((_, i) => {
    const plus = values.slice();
    const minus = values.slice();
    plus[i] += h;
    minus[i] -= h;
    return (lossJs(plus) - lossJs(minus)) / (2 * h);
  });
  const scale = Math.max(...numeric.map(Math.abs), 1e-12);
  for (let i = 0; i < values.length; i++) {
    if (!(Math.abs(grad[i] - numeric[i]) <= rtol * scale)) {
      throw new Error(`${what}[${i}]: gradient ${grad[i]}, central difference ${numeric[i]} (largest ${scale})`);
    }
  }
  const direction = Array.from(randomValues(values.length, seededNormal(options.seed ?? 99)));
  const along = (t: number) => lossJs(values.map((v, i) => v + t * direction[i]));
  const directional = (along(h) - along(-h)) / (2 * h);
  expectClose(dot(grad, direction), directional, `${what}: directional derivative`, 1e-3, rtol * scale);
}

/** The architectures every feature method must run on, with a small input each (one Tiny-ImageNet model). */
export const ARCHITECTURE_CASES = [
  { arch: 'resnet20', classes: 10, inChannels: 3, size: 16 },
  { arch: 'vgg8', classes: 10, inChannels: 3, size: 16 },
  { arch: 'cnn-small', classes: 10, inChannels: 1, size: 28 },
  { arch: 'shufflenetv2', classes: 200, inChannels: 3, size: 32 },
] as const;

/**
 * Builds a student and a teacher of one architecture, the method's distiller for them (setup as the trainer makes
 * it), and computes the loss and its gradient with respect to the distiller's and the student's parameters inside
 * tf.variableGrads: the loss must be finite, every distiller parameter must get a finite gradient, the student a
 * non-zero one, and no tensor may leak.
 */
export function runOnArchitecture(method: TrainingMethod, c: (typeof ARCHITECTURE_CASES)[number],
  options: Record<string, number> = method.options): void {
  const student = createModel(c.arch, { classes: c.classes, inChannels: c.inChannels, seed: 1 });
  const teacher = createModel(c.arch, { classes: c.classes, inChannels: c.inChannels, seed: 2 }).eval();
  const x = tf.randomNormal([3, c.size, c.size, c.inChannels], 0, 1, 'float32', 3);
  const shapes = (m: typeof student) => tf.tidy(() => m.forwardWithFeatures(x).features.map((f) => f.shape.slice(1)));
  const setup: DistillerSetup = {
    tapNames: student.tapNames, studentShapes: shapes(student), teacherShapes: shapes(teacher), datasetSize: 100,
    options,
  };
  method.tapsRead(student.tapNames);
  const distiller = method.createDistiller!(setup);
  initializeParameters(distiller, 7);
  try {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const teacherOut = teacher.forwardWithFeatures(x);
      const distillerParams = distiller.namedParameters();
      const studentParams = student.namedParameters();
      const { value, grads } = tf.variableGrads(() => distiller.loss({
        student: student.forwardWithFeatures(x), teacher: teacherOut, indices: new Int32Array([0, 1, 2]),
      }), [...distillerParams, ...studentParams].map((p) => p.variable));
      expect(Number.isFinite(value.dataSync()[0]), `${c.arch}: loss ${value.dataSync()[0]}`).toBe(true);
      for (const p of distillerParams) {
        const g = grads[p.variable.name];
        expect(g, `${c.arch}: gradient of distiller.${p.name}`).toBeDefined();
        expect(Array.from(g.dataSync()).every(Number.isFinite), `${c.arch}: distiller.${p.name} gradient finite`).toBe(true);
      }
      const studentGrads = studentParams.map((p) => grads[p.variable.name]).filter((g) => g !== undefined);
      expect(studentGrads.length, `${c.arch}: student parameters with a gradient`).toBeGreaterThan(0);
      expect(studentGrads.every((g) => Array.from(g.dataSync()).every(Number.isFinite)), `${c.arch}: finite`).toBe(true);
      expect(studentGrads.some((g) => g.abs().max().dataSync()[0] > 0), `${c.arch}: non-zero student gradient`).toBe(true);
    });
    expect(tf.memory().numTensors, `${c.arch}: tensors after the step`).toBe(before);
  } finally {
    distiller.dispose();
    student.dispose();
    teacher.dispose();
    x.dispose();
  }
}
