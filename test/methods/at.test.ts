// Attention transfer, p = 2: the loss against the formula worked out here in double, its gradient with respect to
// every student map it reads against central differences, zero for equal (and for rescaled or sign-flipped)
// features, the weight the trainer puts on it, the shape errors, and a run on four architectures.
//
// Convention checked (SPEC section 3 and the paper's public code, not the paper's text): per tap, the attention map
// of sample n is Q_n = vec(sum_c |f_n[., ., c]|^p), scaled to unit L2 length (summing or averaging over channels
// gives the same map once normalised); the tap's loss is the mean over samples and positions of (Q_s - Q_t)^2,
// i.e. (1 / (N H W)) sum_n ||Q_s,n - Q_t,n||^2; the method's loss is the sum over taps[1:-1], and the trainer
// multiplies it by beta = 1000. The paper's text instead writes beta/2 * sum_n ||Q_s,n - Q_t,n||_2 (unsquared).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { at } from '../../methods/at.ts';
import { DEFAULT_METHOD_SETTINGS } from '../../methods/method.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import {
  ARCHITECTURE_CASES, expectClose, expectGradient, type Feature, lossAndGrads, nhwc, norm, output,
  runOnArchitecture, seededFeatures, setupFor, TAP_NAMES, toTensor, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// Stand-in taps: channels differ between student and teacher (AT compares spatial maps only), sizes per tap differ.
const STUDENT = [[4, 5, 2], [4, 5, 2], [3, 4, 3], [2, 3, 3], [6]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [3, 4, 2], [2, 3, 4], [7]];
const READ = [1, 2, 3];
const BATCH = 3;

/** Sample n's attention map: sum over channels of |f|^p at each position, scaled to unit length. */
function attention(f: Feature, n: number, p: number): number[] {
  const [, H, W, C] = f.shape;
  const a: number[] = [];
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.abs(nhwc(f, n, h, w, c)) ** p;
      a.push(s);
    }
  }
  const length = norm(a);
  return a.map((v) => v / Math.max(length, 1e-12));
}

/** Sum over the taps read of (1 / (N H W)) sum_n ||Q_s,n - Q_t,n||^2. */
function atJs(student: Feature[], teacher: Feature[], p = 2): number {
  let total = 0;
  for (const i of READ) {
    const [n, H, W] = student[i].shape;
    let squared = 0;
    for (let b = 0; b < n; b++) {
      const qs = attention(student[i], b, p);
      const qt = attention(teacher[i], b, p);
      squared += qs.reduce((s, v, j) => s + (v - qt[j]) ** 2, 0);
    }
    total += squared / (n * H * W);
  }
  return total;
}

function build(studentShapes = STUDENT, teacherShapes = TEACHER, tapNames: readonly string[] = TAP_NAMES,
  options: Record<string, number> = at.options) {
  return at.createDistiller!(setupFor(studentShapes, teacherShapes, options, tapNames));
}

describe('at', () => {
  it('declares the paper code\'s taps, weight and p', () => {
    expect(at.tapsRead(TAP_NAMES)).toEqual(READ);
    expect(at.tapsRead(['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'pooled'])).toEqual([1, 2, 3, 4]);
    expect(at.beta).toBe(1000);
    expect(at.options).toEqual({ p: 2 });
    expect(at.needsIndices).toBe(false);
    expect(at.labelFree.possible).toBe(true);
  });

  it('computes the mean squared difference of the normalised attention maps, summed over taps[1:-1]', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    const expected = atJs(s, t);
    expect(expected).toBeGreaterThan(1e-3);
    expectClose(lossAndGrads(distiller, s, t, READ).loss, expected, 'at loss');
    distiller.dispose();
  });

  it('takes its defaults from the registry entry when the setup gives no options, and honours another p', () => {
    const s = seededFeatures(BATCH, STUDENT, 11);
    const t = seededFeatures(BATCH, TEACHER, 12);
    const defaults = build(STUDENT, TEACHER, TAP_NAMES, {});
    expectClose(lossAndGrads(defaults, s, t, READ).loss, atJs(s, t, 2), 'at loss with {} options');
    defaults.dispose();
    const cubic = build(STUDENT, TEACHER, TAP_NAMES, { p: 3 });
    expectClose(lossAndGrads(cubic, s, t, READ).loss, atJs(s, t, 3), 'at loss, p = 3');
    cubic.dispose();
    expect(() => build(STUDENT, TEACHER, TAP_NAMES, { p: 0.5 })).toThrow(/^method at option p must be a number >= 1, got 0.5$/);
  });

  it('is weighted by beta in the trainer\'s loss, label-free without KL', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 13);
    const t = seededFeatures(BATCH, TEACHER, 14);
    const settings = { ...DEFAULT_METHOD_SETTINGS, labelFree: true, alpha: 0, beta: at.beta };
    const total = tf.tidy(() => trainingLoss(at, distiller, settings, {
      student: output(s.map(toTensor)), teacher: output(t.map(toTensor)),
    }).dataSync()[0]);
    expectClose(total, 1000 * atJs(s, t), 'beta * at loss');
    distiller.dispose();
  });

  it('has the gradient of the formula with respect to every student map it reads', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 3);
    const t = seededFeatures(BATCH, TEACHER, 4);
    const { grads } = lossAndGrads(distiller, s, t, READ);
    READ.forEach((tap, k) => {
      const lossJs = (values: number[]) => atJs(s.map((f, i) => (i === tap ? withValues(f, values) : f)), t);
      expectGradient(lossJs, s[tap].values, grads[k], `d at / d ${TAP_NAMES[tap]}`, { seed: tap });
    });
    distiller.dispose();
  });

  it('is zero, with a zero gradient, for equal features, and zero for rescaled or sign-flipped ones', () => {
    const distiller = build(TEACHER, TEACHER);
    const t = seededFeatures(BATCH, TEACHER, 5);
    const equal = lossAndGrads(distiller, t, t, READ);
    expect(equal.loss).toBe(0);
    expect(equal.grads.flat().every((g) => g === 0)).toBe(true);
    // The maps are normalised and even in f (p = 2): scale and sign of the student's features do not matter.
    for (const factor of [2.5, -1]) {
      const changed = t.map((f) => withValues(f, f.values.map((v) => Math.fround(factor * v))));
      expect(Math.abs(lossAndGrads(distiller, changed, t, READ).loss), `factor ${factor}`).toBeLessThan(1e-7);
    }
    distiller.dispose();
  });

  it('names the tap when shapes do not fit', () => {
    const withTap = (shapes: number[][], tap: number, shape: number[]) => shapes.map((s, i) => (i === tap ? shape : s.slice()));
    expect(() => build(withTap(STUDENT, 2, [2, 4, 3])))
      .toThrow(/^method at needs tap stage2 at the same spatial size in student and teacher, got 2x4 and 3x4$/);
    expect(() => build(STUDENT, withTap(TEACHER, 3, [6])))
      .toThrow(/^method at reads spatial maps, but tap stage3 is \[2,3,3\] \(student\) \/ \[6\] \(teacher\)$/);
    expect(() => build(STUDENT, TEACHER, ['stem', 'pooled'])).toThrow(/^method at reads taps \[1:-1\] but the architecture has taps stem, pooled$/);
    expect(() => build(STUDENT.slice(0, 3), TEACHER)).toThrow(/^method at reads tap stage3, but the setup gives 3 student/);
    expect(() => build(withTap(STUDENT, 1, [4, 0, 2]))).toThrow(/^method at needs non-empty features at tap stage1/);
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(at, c);
    });
  }

  it('leaves no tensor behind when built and disposed', () => {
    const before = tf.memory().numTensors;
    build().dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
