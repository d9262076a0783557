// Correlation congruence, both formulations, with the distiller's own embedding weights read back: kernel 0 (the
// paper code's) against mean_i sum_d |e_s - e_t|_i,d |e_s - e_t|_(i+1),d, kernel 1 (the CC paper's) against
// mean((C_s - C_t)^2) with C_ij = exp(-gamma |e_i - e_j|^2), worked out here in double; gradients with respect to the
// student's vectors and its embedding against central differences; zero for equal embeddings (and, for kernel 1
// only, for embeddings shifted by a constant); the embeddings registered as children; the option and tap errors; a
// run on four architectures.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';

import { initBackend } from '../../engine/index.ts';
import { cc } from '../../methods/cc.ts';
import { initializeParameters } from '../../models/nn/index.ts';
import {
  ARCHITECTURE_CASES, assignSeeded, expectClose, expectGradient, type Feature, lossAndGrads, mean, output,
  parameterValues, rows, runOnArchitecture, seededFeatures, setupFor, sum, TAP_NAMES, toTensor, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// CC reads taps[-1]: pooled vectors of 5 (student) and 6 (teacher) values, each embedded to 128.
const STUDENT = [[4, 5, 2], [4, 5, 2], [4, 5, 2], [4, 5, 2], [5]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [4, 5, 3], [2, 3, 4], [6]];
const TAP = 4;
const BATCH = 3;
const DIM = 128;
// Small inputs keep |e_i - e_j|^2 near 1, where the RBF correlations are neither 0 nor 1.
const SCALE = 0.15;

interface Linear { weight: number[]; bias: number[] } // weight [in, out] row-major, as the Linear layer stores it

function embeddingOf(distiller: ReturnType<typeof build>, who: 'Student' | 'Teacher'): Linear {
  return { weight: parameterValues(distiller, `embed${who}.linear.weight`), bias: parameterValues(distiller, `embed${who}.linear.bias`) };
}

/** e_i = x_i W + b for every sample's vector. */
function embed(f: Feature, { weight, bias }: Linear): number[][] {
  return rows(f).map((x) => bias.map((b, d) => b + sum(x.map((v, k) => v * weight[k * DIM + d]))));
}

/** Kernel 0: mean over consecutive samples of sum_d delta_i,d delta_(i+1),d with delta = |e_s - e_t|. */
function consecutiveJs(es: number[][], et: number[][]): number {
  const delta = es.map((e, i) => e.map((v, d) => Math.abs(v - et[i][d])));
  return mean(delta.slice(0, -1).map((row, i) => sum(row.map((v, d) => v * delta[i + 1][d]))));
}

function rbf(e: number[][], gamma: number): number[][] {
  return e.map((a) => e.map((b) => Math.exp(-gamma * sum(a.map((v, d) => (v - b[d]) ** 2)))));
}

/** Kernel 1: mean over i, j of (C_s - C_t)^2. */
function rbfJs(es: number[][], et: number[][], gamma: number): number {
  const cs = rbf(es, gamma);
  const ct = rbf(et, gamma);
  return mean(cs.flatMap((row, i) => row.map((v, j) => (v - ct[i][j]) ** 2)));
}

function ccJs(s: Feature, t: Feature, student: Linear, teacher: Linear, kernel: number, gamma = 0.4): number {
  const es = embed(s, student);
  const et = embed(t, teacher);
  return kernel === 0 ? consecutiveJs(es, et) : rbfJs(es, et, gamma);
}

function build(options: Record<string, number> = cc.options, studentShapes = STUDENT, teacherShapes = TEACHER,
  tapNames: readonly string[] = TAP_NAMES) {
  const distiller = cc.createDistiller!(setupFor(studentShapes, teacherShapes, options, tapNames));
  initializeParameters(distiller, 9);
  return distiller;
}

const KERNELS = [
  { kernel: 0, options: cc.options },
  { kernel: 1, options: { ...cc.options, kernel: 1 } },
];

describe('cc', () => {
  it('declares the paper code\'s tap, weight and options, and registers both embeddings as trainable children', () => {
    expect(cc.tapsRead(TAP_NAMES)).toEqual([TAP]);
    expect(cc.beta).toBe(0.02);
    expect(cc.options).toEqual({ kernel: 0, gamma: 0.4, dim: 128 });
    const distiller = build();
    expect(distiller.namedParameters().map((p) => [p.name, p.variable.shape, p.group])).toEqual([
      ['embedStudent.linear.weight', [5, DIM], 'model'], ['embedStudent.linear.bias', [DIM], 'model'],
      ['embedTeacher.linear.weight', [6, DIM], 'model'], ['embedTeacher.linear.bias', [DIM], 'model'],
    ]);
    distiller.dispose();
  });

  for (const { kernel, options } of KERNELS) {
    it(`kernel ${kernel}: computes the loss of the formula on the distiller's embeddings`, () => {
      const distiller = build(options);
      const s = seededFeatures(BATCH, STUDENT, 1, SCALE);
      const t = seededFeatures(BATCH, TEACHER, 2, SCALE);
      const student = embeddingOf(distiller, 'Student');
      const teacher = embeddingOf(distiller, 'Teacher');
      if (kernel === 1) {
        const off = rbf(embed(s[TAP], student), 0.4).flatMap((row, i) => row.filter((_, j) => j !== i));
        expect(off.every((v) => v > 0.02 && v < 0.98), `RBF correlations ${off}`).toBe(true);
      }
      const expected = ccJs(s[TAP], t[TAP], student, teacher, kernel);
      expect(expected).toBeGreaterThan(kernel === 0 ? 0.1 : 1e-3);
      expectClose(lossAndGrads(distiller, s, t, [TAP]).loss, expected, `cc loss, kernel ${kernel}`);
      distiller.dispose();
    });

    it(`kernel ${kernel}: has the gradient of the formula for the student's vectors and its embedding`, () => {
      const distiller = build(options);
      const s = seededFeatures(BATCH, STUDENT, 3, SCALE);
      const t = seededFeatures(BATCH, TEACHER, 4, SCALE);
      const student = embeddingOf(distiller, 'Student');
      const teacher = embeddingOf(distiller, 'Teacher');
      // No |e_s - e_t| sits at the kink of |.| (kernel 0).
      const es = embed(s[TAP], student);
      const et = embed(t[TAP], teacher);
      expect(Math.min(...es.flatMap((e, i) => e.map((v, d) => Math.abs(v - et[i][d]))))).toBeGreaterThan(1e-4);
      const { grads } = lossAndGrads(distiller, s, t, [TAP]);
      expectGradient((values) => ccJs(withValues(s[TAP], values), t[TAP], student, teacher, kernel), s[TAP].values,
        grads[0], `d cc${kernel} / d pooled`);
      const weight = distiller.namedParameters().find((p) => p.name === 'embedStudent.linear.weight')!.variable;
      const weightGrad = tf.tidy(() => {
        const { grads: g } = tf.variableGrads(() => distiller.loss({
          student: output(s.map(toTensor)), teacher: output(t.map(toTensor)), indices: new Int32Array(),
        }), [weight]);
        return Array.from(g[weight.name].dataSync());
      });
      expectGradient((values) => ccJs(s[TAP], t[TAP], { ...student, weight: values }, teacher, kernel), student.weight,
        weightGrad, `d cc${kernel} / d student embedding`);
      distiller.dispose();
    });

    it(`kernel ${kernel}: is zero, with a zero gradient, when the two embeddings are equal`, () => {
      // Same vectors, and the teacher's embedding set to the student's.
      const distiller = build(options, TEACHER, TEACHER);
      const t = seededFeatures(BATCH, TEACHER, 5, SCALE);
      const weight = assignSeeded(distiller, 'embedStudent.linear.weight', 21, 0.3);
      const bias = assignSeeded(distiller, 'embedStudent.linear.bias', 22, 0.3);
      assignSeeded(distiller, 'embedTeacher.linear.weight', 21, 0.3);
      assignSeeded(distiller, 'embedTeacher.linear.bias', 22, 0.3);
      expect(parameterValues(distiller, 'embedTeacher.linear.weight')).toEqual(weight);
      expect(parameterValues(distiller, 'embedTeacher.linear.bias')).toEqual(bias);
      const { loss, grads } = lossAndGrads(distiller, t, t, [TAP]);
      expect(loss).toBe(0);
      expect(Math.max(...grads[0].map(Math.abs))).toBeLessThan(1e-7);
      distiller.dispose();
    });
  }

  it('kernel 1 compares correlations only (zero for shifted embeddings), kernel 0 the deviations themselves', () => {
    const s = seededFeatures(BATCH, TEACHER, 6, SCALE);
    for (const { kernel, options } of KERNELS) {
      const distiller = build(options, TEACHER, TEACHER);
      assignSeeded(distiller, 'embedStudent.linear.weight', 21, 0.3);
      assignSeeded(distiller, 'embedTeacher.linear.weight', 21, 0.3);
      assignSeeded(distiller, 'embedStudent.linear.bias', 22, 0.3);
      // The teacher's embedding is the student's plus 1 in every dimension: delta = 1 everywhere.
      const bias = distiller.namedParameters().find((p) => p.name === 'embedTeacher.linear.bias')!.variable;
      const studentBias = parameterValues(distiller, 'embedStudent.linear.bias');
      bias.assign(tf.tensor(studentBias.map((b) => b + 1)));
      const loss = lossAndGrads(distiller, s, s, [TAP]).loss;
      if (kernel === 0) expectClose(loss, DIM, 'kernel 0 with delta = 1 everywhere', 1e-5);
      else expect(Math.abs(loss)).toBeLessThan(1e-9);
      distiller.dispose();
    }
  });

  it('is zero for a batch of one (no consecutive pair; a 1 x 1 correlation matrix)', () => {
    for (const { options } of KERNELS) {
      const distiller = build(options);
      const { loss, grads } = lossAndGrads(distiller, seededFeatures(1, STUDENT, 1), seededFeatures(1, TEACHER, 2), [TAP]);
      expect(loss).toBe(0);
      expect(grads[0].every((g) => g === 0)).toBe(true);
      distiller.dispose();
    }
  });

  it('rejects bad options and names the tap when the setup does not fit', () => {
    expect(() => build({ ...cc.options, kernel: 2 })).toThrow(/cc option kernel must be 0 \(the paper code's formulation\) or 1 \(Gaussian RBF\), got 2/);
    expect(() => build({ ...cc.options, kernel: 1, gamma: 0 })).toThrow(/cc option gamma must be > 0, got 0/);
    expect(() => build({ ...cc.options, dim: 1.5 })).toThrow(/cc option dim must be a positive integer, got 1.5/);
    const matrix = STUDENT.map((s, i) => (i === TAP ? [2, 5] : s.slice()));
    expect(() => build(cc.options, matrix)).toThrow(/cc embeds a feature vector \[C\] or map \[H, W, C\], but tap pooled is \[2,5\] \(student\)/);
    expect(() => build(cc.options, STUDENT, TEACHER, [])).toThrow(/method cc reads taps \[-1:\] but the architecture has taps/);
    expect(() => build(cc.options, STUDENT.slice(0, 4))).toThrow(/method cc reads tap pooled, but the setup gives 4 student/);
  });

  it('embeds a spatial map by averaging it over positions first', () => {
    const maps = STUDENT.map((s, i) => (i === TAP ? [2, 2, 5] : s.slice()));
    const distiller = build(cc.options, maps, TEACHER);
    const s = seededFeatures(BATCH, maps, 7, SCALE);
    const t = seededFeatures(BATCH, TEACHER, 8, SCALE);
    const pooled: Feature = {
      shape: [BATCH, 5],
      values: rows(s[TAP]).flatMap((r) => Array.from({ length: 5 }, (_, c) => mean([0, 1, 2, 3].map((p) => r[p * 5 + c])))),
    };
    expectClose(lossAndGrads(distiller, s, t, [TAP]).loss,
      ccJs(pooled, t[TAP], embeddingOf(distiller, 'Student'), embeddingOf(distiller, 'Teacher'), 0), 'cc loss on a map');
    distiller.dispose();
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(cc, c);
      if (c.arch === 'resnet20') runOnArchitecture(cc, c, { ...cc.options, kernel: 1 });
    });
  }
});
