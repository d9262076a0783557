// Shared pieces of the CRD, CKTF and VID tests: seeded plain-JS (double) features and weights, setting and reading a
// distiller's state by path, central differences, copying state as a checkpoint does, a plain-JS reference of
// CRD's NCE objective and memory (written from the paper's formulas, independently of methods/), and the run of a
// method on real architectures inside tf.variableGrads.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

import type { DistillerSetup, FeatureDistiller } from '../../../methods/distiller.ts';
import type { TrainingMethod } from '../../../methods/method.ts';
import type { ClassifierOutput } from '../../../models/classifier.ts';
import { initializeParameters, type Module } from '../../../models/nn/index.ts';
import { createModel } from '../../../models/registry.ts';
import { randomValues, seededNormal } from '../../support/random.ts';

// ---- Plain-JS numbers ----

/** A tensor's values in plain JS: float32 numbers held as doubles, row-major, with its shape. */
export interface Values {
  shape: number[];
  data: number[];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Seeded standard-normal values times `scale`, rounded to float32 (so the tensor holds exactly these). */
export function seeded(shape: number[], seed: number, scale = 1): Values {
  return { shape, data: Array.from(randomValues(size(shape), seededNormal(seed), scale)) };
}

export function toTensor(v: Values): tf.Tensor {
  return tf.tensor(v.data, v.shape, 'float32');
}

export function valuesOf(t: tf.Tensor): Values {
  return { shape: t.shape.slice(), data: Array.from(t.dataSync()) };
}

/** Rows of a [B, ...] value set, each flattened. */
export function rowsOf(v: Values): number[][] {
  const n = v.shape[0];
  const d = v.data.length / n;
  return Array.from({ length: n }, (_, i) => v.data.slice(i * d, (i + 1) * d));
}

export const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
export const sum = (a: number[]) => a.reduce((s, x) => s + x, 0);
export const mean = (a: number[]) => sum(a) / a.length;
export function normalize(a: number[]): number[] {
  const n = Math.max(Math.sqrt(dot(a, a)), 1e-12);
  return a.map((x) => x / n);
}

/** A ClassifierOutput around feature tensors (feature methods never read the logits). */
export function output(features: tf.Tensor[]): ClassifierOutput {
  return { logits: tf.zeros([features[0].shape[0], 2]), features };
}

export function expectClose(actual: number, expected: number, what: string, rtol = 1e-4, atol = 1e-6): void {
  const tolerance = atol + rtol * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (tolerance ${tolerance})`);
  }
}

export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-6): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expectClose(actual[i], expected[i], `${what}[${i}]`, rtol, atol);
}

/** Central difference, in double, of a plain-JS function of several value arrays along one direction per array. */
export function directionalDifference(f: (xs: number[][]) => number, xs: number[][], directions: number[][], h = 1e-5): number {
  const at = (t: number) => f(xs.map((x, k) => x.map((v, i) => v + t * directions[k][i])));
  return (at(h) - at(-h)) / (2 * h);
}

// ---- Distiller state by path ----

/** A distiller's parameter or buffer by its path (e.g. 'pooled.memory.teacherBank'). */
export function stateOf(module: Module, path: string): tf.Variable {
  const v = module.stateDict().get(path);
  if (!v) throw new Error(`no state ${path} (have ${[...module.stateDict().keys()].join(', ')})`);
  return v;
}

export function setState(module: Module, path: string, v: Values | number[] | number): void {
  const target = stateOf(module, path);
  const data = typeof v === 'number' ? [v] : Array.isArray(v) ? v : v.data;
  tf.tidy(() => target.assign(tf.tensor(data, target.shape, target.dtype)));
}

/** Sets a state to seeded normal values (times `scale`); returns them. */
export function setSeeded(module: Module, path: string, seed: number, scale = 1): Values {
  const v = seeded(stateOf(module, path).shape, seed, scale);
  setState(module, path, v);
  return v;
}

export function readState(module: Module, path: string): number[] {
  return Array.from(stateOf(module, path).dataSync());
}

/** Copies every parameter and buffer into another module of the same layout, as a checkpoint save and load does. */
export function copyState(from: Module, to: Module): void {
  const target = to.stateDict();
  const source = from.stateDict();
  expect([...target.keys()].sort()).toEqual([...source.keys()].sort());
  for (const [path, v] of source) {
    // Through plain JS arrays, as a checkpoint file goes.
    tf.tidy(() => target.get(path)!.assign(tf.tensor(v.dataSync().slice(), v.shape, v.dtype)));
  }
}

// ---- Plain-JS reference of CRD (Tian et al., ICLR 2020) ----

/** Row-wise: spatial mean of an NHWC map (or the vector itself), times W [C, D], plus b, L2-normalised. */
export function embedRef(features: Values, weight: Values, bias: Values): number[][] {
  const [n] = features.shape;
  const c = features.shape.at(-1)!;
  const positions = features.data.length / (n * c);
  const [, d] = weight.shape;
  return Array.from({ length: n }, (_, i) => {
    const pooled = Array.from({ length: c }, (_, ch) => {
      let s = 0;
      for (let p = 0; p < positions; p++) s += features.data[(i * positions + p) * c + ch];
      return s / positions;
    });
    return normalize(Array.from({ length: d }, (_, o) => bias.data[o] + sum(pooled.map((x, ch) => x * weight.data[ch * d + o]))));
  });
}

/** The memory of one contrastive level, in double. */
export interface MemoryRef {
  studentBank: number[][];
  teacherBank: number[][];
  studentZ: number;
  teacherZ: number;
}

export function readMemory(module: Module, prefix: string): MemoryRef {
  const bank = (name: string) => rowsOf(valuesOf(stateOf(module, `${prefix}.${name}`)));
  return {
    studentBank: bank('studentBank'), teacherBank: bank('teacherBank'),
    studentZ: readState(module, `${prefix}.studentZ`)[0], teacherZ: readState(module, `${prefix}.teacherZ`)[0],
  };
}

/** Z from a side's first batch: the mean of exp(e . m / T) over every positive and negative pair, times N. */
export function firstZ(embeddings: number[][], bank: number[][], indices: ArrayLike<number>, negatives: ArrayLike<number>, t: number): number {
  const scores: number[] = [];
  embeddings.forEach((e, i) => {
    scores.push(Math.exp(dot(e, bank[indices[i]]) / t));
    for (const j of Array.from(negatives)) scores.push(Math.exp(dot(e, bank[j]) / t));
  });
  return mean(scores) * bank.length;
}

/**
 * One side's NCE loss, straight from the paper: P(m | e) = exp(e . m / T) / Z, Pn = 1 / N, K negatives;
 * mean over the batch of -[log(P_pos / (P_pos + K Pn)) + sum_j log(K Pn / (P_j + K Pn))].
 */
export function nceSideRef(embeddings: number[][], bank: number[][], indices: ArrayLike<number>, negatives: ArrayLike<number>,
  z: number, t: number): number {
  const k = negatives.length;
  const kPn = k / bank.length;
  let total = 0;
  embeddings.forEach((e, i) => {
    const pos = Math.exp(dot(e, bank[indices[i]]) / t) / z;
    total -= Math.log(pos / (pos + kPn));
    for (const j of Array.from(negatives)) {
      const neg = Math.exp(dot(e, bank[j]) / t) / z;
      total -= Math.log(kPn / (neg + kPn));
    }
  });
  return total / embeddings.length;
}

/** Bank after the update: rows idx become normalize(momentum * m + (1 - momentum) * e), others unchanged. */
export function updatedBankRef(bank: number[][], embeddings: number[][], indices: ArrayLike<number>, momentum: number): number[][] {
  const next = bank.map((row) => row.slice());
  embeddings.forEach((e, i) => {
    const row = bank[indices[i]];
    next[indices[i]] = normalize(row.map((m, c) => momentum * m + (1 - momentum) * e[c]));
  });
  return next;
}

/**
 * A contrastive level's loss (student side against the teacher bank plus teacher side against the student bank)
 * and its memory afterwards: Z set from this batch if unset (0), banks updated.
 */
export function crdLevelRef(memory: MemoryRef, student: number[][], teacher: number[][], indices: ArrayLike<number>,
  negatives: ArrayLike<number>, options: { temperature: number; momentum: number }): { loss: number; memory: MemoryRef } {
  const t = options.temperature;
  const studentZ = memory.studentZ > 0 ? memory.studentZ : firstZ(student, memory.teacherBank, indices, negatives, t);
  const teacherZ = memory.teacherZ > 0 ? memory.teacherZ : firstZ(teacher, memory.studentBank, indices, negatives, t);
  const loss = nceSideRef(student, memory.teacherBank, indices, negatives, studentZ, t) +
    nceSideRef(teacher, memory.studentBank, indices, negatives, teacherZ, t);
  return {
    loss,
    memory: {
      studentBank: updatedBankRef(memory.studentBank, student, indices, options.momentum),
      teacherBank: updatedBankRef(memory.teacherBank, teacher, indices, options.momentum),
      studentZ, teacherZ,
    },
  };
}

/** Seeded unit rows, as a test's own memory bank. */
export function unitRows(rows: number, dim: number, seed: number): number[][] {
  return rowsOf(seeded([rows, dim], seed)).map((r) => normalize(r).map(Math.fround));
}

export function setMemory(module: Module, prefix: string, memory: MemoryRef): void {
  setState(module, `${prefix}.studentBank`, memory.studentBank.flat());
  setState(module, `${prefix}.teacherBank`, memory.teacherBank.flat());
  setState(module, `${prefix}.studentZ`, memory.studentZ);
  setState(module, `${prefix}.teacherZ`, memory.teacherZ);
}

export function expectMemoryClose(actual: MemoryRef, expected: MemoryRef, what: string, rtol = 1e-5, atol = 1e-6): void {
  expectAllClose(actual.studentBank.flat(), expected.studentBank.flat(), `${what}: student bank`, rtol, atol);
  expectAllClose(actual.teacherBank.flat(), expected.teacherBank.flat(), `${what}: teacher bank`, rtol, atol);
  expectClose(actual.studentZ, expected.studentZ, `${what}: student Z`, rtol);
  expectClose(actual.teacherZ, expected.teacherZ, `${what}: teacher Z`, rtol);
}

// ---- Distiller runs ----

/** The loss of a distiller on fixed features (the teacher's given as values); leaves no tensor behind. */
export function lossOn(distiller: FeatureDistiller, student: Values[], teacher: Values[], indices: Int32Array): number {
  const before = tf.memory().numTensors;
  const value = tf.tidy(() => distiller.loss({
    student: output(student.map(toTensor)), teacher: output(teacher.map(toTensor)), indices,
  }).dataSync()[0]);
  expect(tf.memory().numTensors, 'tensors left by the loss').toBe(before);
  return value;
}

/** The loss and its gradients with respect to the student features of taps `wrt`; leaves no tensor behind. */
export function lossAndGrads(distiller: FeatureDistiller, student: Values[], teacher: Values[], indices: Int32Array,
  wrt: number[]): { loss: number; grads: number[][] } {
  const before = tf.memory().numTensors;
  const result = tf.tidy(() => {
    const s = student.map(toTensor);
    const t = output(teacher.map(toTensor));
    const f = (...xs: tf.Tensor[]) => {
      const features = s.slice();
      wrt.forEach((tap, k) => { features[tap] = xs[k]; });
      return distiller.loss({ student: output(features), teacher: t, indices });
    };
    const { value, grads } = tf.valueAndGrads(f)(wrt.map((i) => s[i]));
    return { loss: value.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
  });
  expect(tf.memory().numTensors, 'tensors left by the loss and its gradient').toBe(before);
  return result;
}

export function setupFor(tapNames: readonly string[], studentShapes: number[][], teacherShapes: number[][],
  datasetSize: number, options: Record<string, number>): DistillerSetup {
  return { tapNames, studentShapes, teacherShapes, datasetSize, options };
}

/** The architectures each method runs on, with a small input (resnet18: the Tiny-ImageNet model). */
export const ARCHITECTURES = [
  { arch: 'resnet20', classes: 10, inChannels: 3, size: 8 },
  { arch: 'vgg8', classes: 10, inChannels: 3, size: 16 },
  { arch: 'cnn-small', classes: 10, inChannels: 1, size: 28 },
  { arch: 'resnet18', classes: 200, inChannels: 3, size: 32 },
] as const;

/**
 * Builds a student and a teacher of an architecture and the method's distiller as the trainer does, and runs
 * `steps` losses with their gradients over the distiller's and the student's parameters inside tf.variableGrads
 * (new sample indices each step): finite losses, a finite gradient for every distiller parameter, a non-zero one
 * for the student, no tensor left behind. Returns the losses.
 */
export function runOnArchitecture(method: TrainingMethod, c: (typeof ARCHITECTURES)[number], options: Record<string, number>,
  datasetSize = 16, steps = 2): number[] {
  const student = createModel(c.arch, { classes: c.classes, inChannels: c.inChannels, seed: 1 });
  const teacher = createModel(c.arch, { classes: c.classes, inChannels: c.inChannels, seed: 2 }).eval();
  const batch = 3;
  const x = toTensor(seeded([batch, c.size, c.size, c.inChannels], 3));
  const shapes = (m: typeof student) => tf.tidy(() => m.forwardWithFeatures(x).features.map((f) => f.shape.slice(1)));
  method.tapsRead(student.tapNames);
  const setup = setupFor(student.tapNames, shapes(student), shapes(teacher), datasetSize, options);
  const distiller = method.createDistiller!(setup);
  initializeParameters(distiller, 7);
  let distillerDisposed = false;
  const losses: number[] = [];
  try {
    const before = tf.memory().numTensors;
    for (let step = 0; step < steps; step++) {
      const indices = Int32Array.from({ length: batch }, (_, i) => (step * batch + i) % datasetSize);
      tf.tidy(() => {
        const teacherOut = teacher.forwardWithFeatures(x);
        const distillerParams = distiller.namedParameters();
        const studentParams = student.namedParameters();
        const { value, grads } = tf.variableGrads(() => distiller.loss({ student: student.forwardWithFeatures(x), teacher: teacherOut, indices }),
          [...distillerParams, ...studentParams].map((p) => p.variable));
        const loss = value.dataSync()[0];
        expect(Number.isFinite(loss), `${c.arch}: loss ${loss}`).toBe(true);
        losses.push(loss);
        for (const p of distillerParams) {
          const g = grads[p.variable.name];
          expect(g, `${c.arch}: gradient of distiller ${p.name}`).toBeDefined();
          expect(Array.from(g.dataSync()).every(Number.isFinite), `${c.arch}: distiller ${p.name} gradient finite`).toBe(true);
        }
        const studentGrads = studentParams.map((p) => grads[p.variable.name]).filter((g) => g !== undefined);
        expect(studentGrads.length, `${c.arch}: student parameters with a gradient`).toBeGreaterThan(0);
        expect(studentGrads.every((g) => Array.from(g.dataSync()).every(Number.isFinite)), `${c.arch}: finite student gradients`).toBe(true);
        expect(studentGrads.some((g) => g.abs().max().dataSync()[0] > 0), `${c.arch}: non-zero student gradient`).toBe(true);
      });
    }
    expect(tf.memory().numTensors, `${c.arch}: tensors after the steps`).toBe(before);
    // Disposing the distiller frees exactly its parameters and buffers. (Building and initialising layers is not
    // counted: that is models/nn's business.)
    const owned = distiller.stateDict().size;
    distiller.dispose();
    distillerDisposed = true;
    expect(tf.memory().numTensors, `${c.arch}: tensors after the distiller is disposed`).toBe(before - owned);
  } finally {
    if (!distillerDisposed) distiller.dispose();
    student.dispose();
    teacher.dispose();
    x.dispose();
  }
  return losses;
}
