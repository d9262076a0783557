// Neuron selectivity transfer: the loss against the squared MMD with the polynomial kernel k(a, b) = (a . b)^2
// between L2-normalised channel maps, worked out here in double; its gradient against central differences; zero
// for equal features and invariance to the order of the channels; the shape errors; a run on four architectures.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { nst } from '../../methods/nst.ts';
import {
  ARCHITECTURE_CASES, dot, expectClose, expectGradient, type Feature, lossAndGrads, nhwc, norm, runOnArchitecture,
  seededFeatures, setupFor, TAP_NAMES, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// Stand-in taps: the three stages differ in channels between student and teacher (NST compares sets of channels).
const STUDENT = [[4, 5, 2], [4, 5, 2], [4, 5, 3], [2, 3, 3], [6]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [4, 5, 2], [2, 3, 4], [7]];
const READ = [1, 2, 3];
const BATCH = 3;

/** Sample n's channels of an NHWC feature, each its H x W map flattened and scaled to unit length. */
function channelVectors(f: Feature, n: number): number[][] {
  const [, H, W, C] = f.shape;
  return Array.from({ length: C }, (_, c) => {
    const v: number[] = [];
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) v.push(nhwc(f, n, h, w, c));
    const length = norm(v);
    return v.map((x) => x / Math.max(length, 1e-12));
  });
}

/** Mean of (a . b)^2 over all pairs (a in A, b in B). */
function meanKernel(A: number[][], B: number[][]): number {
  let s = 0;
  for (const a of A) for (const b of B) s += dot(a, b) ** 2;
  return s / (A.length * B.length);
}

/** Sum over the taps of the batch mean of MMD^2 = E k(t, t') + E k(s, s') - 2 E k(s, t). */
function nstJs(student: Feature[], teacher: Feature[]): number {
  let total = 0;
  for (const i of READ) {
    const n = student[i].shape[0];
    let tap = 0;
    for (let b = 0; b < n; b++) {
      const S = channelVectors(student[i], b);
      const T = channelVectors(teacher[i], b);
      tap += meanKernel(T, T) + meanKernel(S, S) - 2 * meanKernel(S, T);
    }
    total += tap / n;
  }
  return total;
}

function build(studentShapes = STUDENT, teacherShapes = TEACHER, tapNames: readonly string[] = TAP_NAMES) {
  return nst.createDistiller!(setupFor(studentShapes, teacherShapes, nst.options, tapNames));
}

describe('nst', () => {
  it('declares the paper code\'s taps and weight', () => {
    expect(nst.tapsRead(TAP_NAMES)).toEqual(READ);
    expect(nst.beta).toBe(50);
    expect(nst.kind).toBe('feature');
  });

  it('computes the squared MMD of the normalised channel maps, summed over taps[1:-1]', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    const { loss } = lossAndGrads(distiller, s, t, READ);
    const expected = nstJs(s, t);
    expect(expected).toBeGreaterThan(0.01);
    expectClose(loss, expected, 'nst loss');
    distiller.dispose();
  });

  it('has the gradient of the formula with respect to every student feature it reads', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 3);
    const t = seededFeatures(BATCH, TEACHER, 4);
    const { grads } = lossAndGrads(distiller, s, t, READ);
    READ.forEach((tap, k) => {
      const lossJs = (values: number[]) => nstJs(s.map((f, i) => (i === tap ? withValues(f, values) : f)), t);
      expectGradient(lossJs, s[tap].values, grads[k], `d nst / d ${TAP_NAMES[tap]}`, { seed: tap });
    });
    distiller.dispose();
  });

  it('is zero, with a zero gradient, when the student\'s features equal the teacher\'s', () => {
    const distiller = build(TEACHER, TEACHER);
    const t = seededFeatures(BATCH, TEACHER, 5);
    const { loss, grads } = lossAndGrads(distiller, t, t, READ);
    expect(Math.abs(loss)).toBeLessThan(1e-6);
    const typical = lossAndGrads(distiller, seededFeatures(BATCH, TEACHER, 6), t, READ).grads;
    const largest = (g: number[][]) => Math.max(...g.flat().map(Math.abs));
    expect(largest(grads)).toBeLessThan(1e-4 * largest(typical));
    distiller.dispose();
  });

  it('compares channel sets: reordering the teacher\'s channels leaves the loss unchanged', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 7);
    const t = seededFeatures(BATCH, TEACHER, 8);
    // Reverse the channel order of every teacher map.
    const reversed = t.map((f) => {
      if (f.shape.length !== 4) return f;
      const [n, H, W, C] = f.shape;
      const values: number[] = [];
      for (let b = 0; b < n; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
        for (let c = C - 1; c >= 0; c--) values.push(nhwc(f, b, h, w, c));
      }
      return withValues(f, values);
    });
    expectClose(lossAndGrads(distiller, s, reversed, READ).loss, lossAndGrads(distiller, s, t, READ).loss,
      'loss with reordered channels', 1e-5);
    distiller.dispose();
  });

  it('names the tap when shapes do not fit', () => {
    const spatial = STUDENT.map((s) => s.slice());
    spatial[2] = [2, 5, 3];
    expect(() => build(spatial)).toThrow(/nst needs tap stage2 at the same spatial size .* got 2x5 and 4x5/);
    const vector = TEACHER.map((s) => s.slice());
    vector[3] = [6];
    expect(() => build(STUDENT, vector)).toThrow(/nst reads spatial maps, but tap stage3 is \[2,3,3\] \(student\) \/ \[6\]/);
    expect(() => build(STUDENT, TEACHER, ['stem', 'pooled'])).toThrow(/method nst reads taps \[1:-1\] but the architecture has taps stem, pooled/);
    expect(() => build(STUDENT.slice(0, 3), TEACHER)).toThrow(/method nst reads tap stage3, but the setup gives 3 student/);
    const empty = STUDENT.map((s) => s.slice());
    empty[1] = [4, 0, 2];
    expect(() => build(empty)).toThrow(/nst needs non-empty features at tap stage1/);
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(nst, c);
    });
  }

  it('leaves no tensor behind when built and disposed', () => {
    const before = tf.memory().numTensors;
    build().dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
