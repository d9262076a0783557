// Similarity-preserving KD: the loss against sum((G_s - G_t)^2) / N^2 with G the row-normalised F F^T of the
// flattened features, worked out here in double; its gradient against central differences; zero for equal (and for
// proportional) features; the tap errors; a run on four architectures.
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { sp } from '../../methods/sp.ts';
import {
  ARCHITECTURE_CASES, dot, expectClose, expectGradient, type Feature, lossAndGrads, norm, rows, runOnArchitecture,
  seededFeatures, setupFor, TAP_NAMES, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// SP reads taps[-2] (stage3); the student's and teacher's sizes differ on purpose (only N x N matrices are compared).
const STUDENT = [[4, 5, 2], [4, 5, 2], [4, 5, 2], [4, 5, 2], [6]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [4, 5, 3], [2, 3, 4], [7]];
const TAP = 3;
const BATCH = 3;

/** The batch's similarity matrix: G_ij = f_i . f_j of the flattened samples, each row scaled to unit length. */
function similarity(f: Feature): number[][] {
  const r = rows(f);
  return r.map((a) => {
    const row = r.map((b) => dot(a, b));
    const length = norm(row);
    return row.map((v) => v / Math.max(length, 1e-12));
  });
}

function spJs(student: Feature, teacher: Feature): number {
  const gs = similarity(student);
  const gt = similarity(teacher);
  const n = gs.length;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += (gs[i][j] - gt[i][j]) ** 2;
  return s / (n * n);
}

function build(studentShapes = STUDENT, teacherShapes = TEACHER, tapNames: readonly string[] = TAP_NAMES) {
  return sp.createDistiller!(setupFor(studentShapes, teacherShapes, sp.options, tapNames));
}

describe('sp', () => {
  it('declares the paper code\'s tap and weight', () => {
    expect(sp.tapsRead(TAP_NAMES)).toEqual([TAP]);
    expect(sp.tapsRead(['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'pooled'])).toEqual([4]);
    expect(sp.beta).toBe(3000);
  });

  it('computes the squared distance of the row-normalised similarity matrices over N^2', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    const { loss } = lossAndGrads(distiller, s, t, [TAP]);
    const expected = spJs(s[TAP], t[TAP]);
    expect(expected).toBeGreaterThan(1e-3);
    expectClose(loss, expected, 'sp loss');
    distiller.dispose();
  });

  it('has the gradient of the formula with respect to the student\'s features', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 3);
    const t = seededFeatures(BATCH, TEACHER, 4);
    const { grads } = lossAndGrads(distiller, s, t, [TAP]);
    expectGradient((values) => spJs(withValues(s[TAP], values), t[TAP]), s[TAP].values, grads[0], 'd sp / d stage3');
    distiller.dispose();
  });

  it('is zero, with a zero gradient, for equal features, and zero for features proportional to the teacher\'s', () => {
    const distiller = build(TEACHER, TEACHER);
    const t = seededFeatures(BATCH, TEACHER, 5);
    const equal = lossAndGrads(distiller, t, t, [TAP]);
    expect(Math.abs(equal.loss)).toBeLessThan(1e-7);
    const typical = lossAndGrads(distiller, seededFeatures(BATCH, TEACHER, 6), t, [TAP]).grads[0];
    const largest = (g: number[]) => Math.max(...g.map(Math.abs));
    expect(largest(equal.grads[0])).toBeLessThan(1e-4 * largest(typical));
    const scaled = t.map((f) => withValues(f, f.values.map((v) => Math.fround(2.5 * v))));
    expect(Math.abs(lossAndGrads(distiller, scaled, t, [TAP]).loss)).toBeLessThan(1e-7);
    distiller.dispose();
  });

  it('names the tap when the setup does not fit', () => {
    expect(() => build(STUDENT, TEACHER, ['pooled'])).toThrow(/method sp reads taps \[-2:-1\] but the architecture has taps pooled/);
    expect(() => build(STUDENT.slice(0, 3), TEACHER)).toThrow(/method sp reads tap stage3, but the setup gives 3 student/);
    const empty = TEACHER.map((s) => s.slice());
    empty[TAP] = [0, 3, 4];
    expect(() => build(STUDENT, empty)).toThrow(/sp needs non-empty features at tap stage3, got \[4,5,2\] \(student\) \/ \[0,3,4\]/);
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(sp, c);
    });
  }
});
