// Relational KD: the loss against the paper's distance-wise (pairwise distances over their mean over distinct
// pairs) and angle-wise (cosines of the angles of triplets) smooth L1 terms, weighted 25 and 50, worked out here in
// double; its gradient against central differences; zero for equal features and invariance to scaling and shifting
// the student's; degenerate batches (one sample, coinciding samples) without NaN; the option and tap errors; a run on
// four architectures.
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { rkd } from '../../methods/rkd.ts';
import {
  ARCHITECTURE_CASES, dot, expectClose, expectGradient, type Feature, lossAndGrads, mean, norm, rows,
  runOnArchitecture, seededFeatures, setupFor, TAP_NAMES, withValues,
} from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// RKD reads taps[-1], the pooled vectors; their sizes differ between student and teacher on purpose.
const STUDENT = [[4, 5, 2], [4, 5, 2], [4, 5, 2], [4, 5, 2], [5]];
const TEACHER = [[4, 5, 3], [4, 5, 3], [4, 5, 3], [2, 3, 4], [6]];
const TAP = 4;
const BATCH = 4;

const minus = (a: number[], b: number[]) => a.map((v, i) => v - b[i]);
const huber = (d: number) => (Math.abs(d) < 1 ? 0.5 * d * d : Math.abs(d) - 0.5);

/** psi_D: |x_i - x_j| divided by the mean of |x_i - x_j| over the pairs i != j. */
function distanceRelation(x: number[][]): number[][] {
  const d = x.map((a) => x.map((b) => norm(minus(a, b))));
  const distinct = d.flatMap((row, i) => row.filter((_, j) => j !== i));
  const mu = mean(distinct);
  return d.map((row) => row.map((v) => v / mu));
}

/** psi_A: cos of the angle at x_i between x_j and x_k; 0 where j = i or k = i (no angle). */
function angleRelation(x: number[][]): number[][][] {
  return x.map((xi, i) => x.map((xj, j) => x.map((xk, k) => {
    if (j === i || k === i) return 0;
    const a = minus(xj, xi);
    const b = minus(xk, xi);
    return dot(a, b) / (norm(a) * norm(b));
  })));
}

/** Element-wise differences of the two relations, distance-wise then angle-wise. */
function relationGaps(s: Feature, t: Feature) {
  const ds = distanceRelation(rows(s)).flat();
  const dt = distanceRelation(rows(t)).flat();
  const as = angleRelation(rows(s)).flat(2);
  const at = angleRelation(rows(t)).flat(2);
  return { distance: ds.map((v, i) => v - dt[i]), angle: as.map((v, i) => v - at[i]) };
}

function rkdJs(s: Feature, t: Feature, distanceWeight = 25, angleWeight = 50): number {
  const gaps = relationGaps(s, t);
  return distanceWeight * mean(gaps.distance.map(huber)) + angleWeight * mean(gaps.angle.map(huber));
}

function build(options: Record<string, number> = rkd.options, studentShapes = STUDENT, teacherShapes = TEACHER,
  tapNames: readonly string[] = TAP_NAMES) {
  return rkd.createDistiller!(setupFor(studentShapes, teacherShapes, options, tapNames));
}

describe('rkd', () => {
  it('declares the paper code\'s tap, weight and relation weights', () => {
    expect(rkd.tapsRead(TAP_NAMES)).toEqual([TAP]);
    expect(rkd.beta).toBe(1);
    expect(rkd.options).toEqual({ distanceWeight: 25, angleWeight: 50 });
  });

  it('computes 25 x distance-wise + 50 x angle-wise smooth L1, and each term alone', () => {
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    // Both branches of the smooth L1 are exercised (some gaps beyond 1), and none sits at its kink.
    const gaps = relationGaps(s[TAP], t[TAP]);
    const all = [...gaps.distance, ...gaps.angle].map(Math.abs);
    expect(all.some((g) => g > 1) && all.some((g) => g > 0 && g < 1)).toBe(true);
    expect(all.every((g) => Math.abs(g - 1) > 1e-3)).toBe(true);
    for (const [options, expected] of [
      [rkd.options, rkdJs(s[TAP], t[TAP])],
      [{ distanceWeight: 25, angleWeight: 0 }, rkdJs(s[TAP], t[TAP], 25, 0)],
      [{ distanceWeight: 0, angleWeight: 1 }, rkdJs(s[TAP], t[TAP], 0, 1)],
    ] as const) {
      const distiller = build(options);
      expect(expected).toBeGreaterThan(1e-3);
      expectClose(lossAndGrads(distiller, s, t, [TAP]).loss, expected, `rkd loss ${JSON.stringify(options)}`);
      distiller.dispose();
    }
  });

  it('has the gradient of the formula with respect to the student\'s vectors', () => {
    const distiller = build();
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    const { grads } = lossAndGrads(distiller, s, t, [TAP]);
    expectGradient((values) => rkdJs(withValues(s[TAP], values), t[TAP]), s[TAP].values, grads[0], 'd rkd / d pooled');
    distiller.dispose();
  });

  it('is zero, with a zero gradient, for equal vectors, and for the teacher\'s vectors scaled and shifted', () => {
    const distiller = build(rkd.options, TEACHER, TEACHER);
    const t = seededFeatures(BATCH, TEACHER, 5);
    const equal = lossAndGrads(distiller, t, t, [TAP]);
    expect(Math.abs(equal.loss)).toBeLessThan(1e-7);
    expect(Math.max(...equal.grads[0].map(Math.abs))).toBeLessThan(1e-5);
    const moved = t.map((f) => withValues(f, f.values.map((v, i) => Math.fround(3 * v + 0.5 * (i % 6)))));
    expect(Math.abs(lossAndGrads(distiller, moved, t, [TAP]).loss)).toBeLessThan(1e-6);
    distiller.dispose();
  });

  it('gives a finite loss and gradient for a batch of one and for coinciding samples', () => {
    const distiller = build();
    const one = lossAndGrads(distiller, seededFeatures(1, STUDENT, 1), seededFeatures(1, TEACHER, 2), [TAP]);
    expect(one.loss).toBe(0);
    expect(one.grads[0].every((g) => g === 0)).toBe(true);
    const s = seededFeatures(BATCH, STUDENT, 3);
    const d = STUDENT[TAP][0];
    // Sample 1 repeats sample 0.
    s[TAP] = withValues(s[TAP], s[TAP].values.map((v, i) => (i >= d && i < 2 * d ? s[TAP].values[i - d] : v)));
    const repeated = lossAndGrads(distiller, s, seededFeatures(BATCH, TEACHER, 4), [TAP]);
    expect(Number.isFinite(repeated.loss)).toBe(true);
    expect(repeated.grads[0].every(Number.isFinite)).toBe(true);
    distiller.dispose();
  });

  it('rejects bad options and names the tap when the setup does not fit', () => {
    expect(() => build({ distanceWeight: -1, angleWeight: 50 })).toThrow(/rkd option distanceWeight must be >= 0, got -1/);
    expect(() => build({ distanceWeight: 0, angleWeight: 0 })).toThrow(/rkd has distanceWeight and angleWeight both 0/);
    expect(() => build(rkd.options, STUDENT, TEACHER, [])).toThrow(/method rkd reads taps \[-1:\] but the architecture has taps/);
    expect(() => build(rkd.options, STUDENT, TEACHER.slice(0, 4))).toThrow(/method rkd reads tap pooled, but the setup gives 5 student and 4 teacher/);
    const empty = STUDENT.map((s) => s.slice());
    empty[TAP] = [0];
    expect(() => build(rkd.options, empty)).toThrow(/rkd needs non-empty features at tap pooled/);
  });

  it('reads the default options when the setup gives none', () => {
    const s = seededFeatures(BATCH, STUDENT, 1);
    const t = seededFeatures(BATCH, TEACHER, 2);
    const distiller = build({});
    expectClose(lossAndGrads(distiller, s, t, [TAP]).loss, rkdJs(s[TAP], t[TAP]), 'rkd loss with default options');
    distiller.dispose();
  });

  for (const c of ARCHITECTURE_CASES) {
    it(`builds and runs on ${c.arch} without leaking tensors`, () => {
      runOnArchitecture(rkd, c);
    });
  }
});
