// CKTF (Zhao et al., 2023): CRD's contrastive objective at every depth, L_final + theta * sum of the intermediate
// L's (the public code's form, the default) or, with option convex 1, theta * L_final + (1 - theta) * mean of them,
// against those formulas worked out here in plain JS (double precision, support/distillerChecks.ts): the value with
// set heads, banks and Z at every level (one level with Z still unset), each level's memory update, the gradient with
// respect to every student tap, theta's ends (the final level alone is CRD's loss), separate negatives per level,
// state copied as checkpoints do, runs on four architectures.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { cktf } from '../../methods/cktf.ts';
import { crd } from '../../methods/crd.ts';
import type { FeatureDistiller } from '../../methods/distiller.ts';
import { ContrastMemory } from '../../methods/features/contrastiveMemory.ts';
import { initializeParameters } from '../../models/nn/index.ts';
import { randomValues, seededNormal } from '../support/random.ts';
import {
  ARCHITECTURES, copyState, crdLevelRef, directionalDifference, dot, embedRef, expectClose, expectMemoryClose,
  lossAndGrads, lossOn, type MemoryRef, readMemory, readState, runOnArchitecture, seeded, setMemory, setSeeded, setState,
  setupFor, stateOf, unitRows, type Values,
} from './support/distillerChecks.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const created: FeatureDistiller[] = [];
afterEach(() => {
  for (const d of created.splice(0)) d.dispose();
});

// A stand-in model with a stem, one stage and the pooled vector; the teacher is wider.
const TAPS = ['stem', 'stage1', 'pooled'];
const STUDENT = [[2, 2, 3], [1, 1, 4], [5]];
const TEACHER = [[2, 2, 2], [1, 1, 3], [6]];
const N = 10;
const DIM = 3;
const OPTIONS = {
  dim: DIM, negatives: 4, temperature: 0.2, momentum: cktf.options.momentum, theta: cktf.options.theta,
  convex: cktf.options.convex,
};
const IDX = Int32Array.from([4, 9, 0]);

function makeCktf(options: Record<string, number> = OPTIONS, seed = 1): FeatureDistiller {
  const d = cktf.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, options));
  initializeParameters(d, seed);
  created.push(d);
  return d;
}

function memoryOf(d: FeatureDistiller, tap: string): ContrastMemory {
  const m = d.namedModules().find(([p]) => p === `${tap}.memory`)?.[1];
  if (!(m instanceof ContrastMemory)) throw new Error(`no contrastive memory at ${tap}`);
  return m;
}

interface Level { ws: Values; bs: Values; wt: Values; bt: Values; memory: MemoryRef }

/** Sets every level's heads and memory to seeded values; level `unsetZ` keeps Z unset (first batch). */
function setLevels(d: FeatureDistiller, seed: number, unsetZ = -1): Level[] {
  return TAPS.map((tap, i) => {
    const s = seed + 10 * i;
    const level: Level = {
      ws: setSeeded(d, `${tap}.embedStudent.linear.weight`, s, 0.7),
      bs: setSeeded(d, `${tap}.embedStudent.linear.bias`, s + 1, 0.2),
      wt: setSeeded(d, `${tap}.embedTeacher.linear.weight`, s + 2, 0.7),
      bt: setSeeded(d, `${tap}.embedTeacher.linear.bias`, s + 3, 0.2),
      memory: {
        studentBank: unitRows(N, DIM, s + 4), teacherBank: unitRows(N, DIM, s + 5),
        studentZ: i === unsetZ ? 0 : 30 + i, teacherZ: i === unsetZ ? 0 : 25 - i,
      },
    };
    setMemory(d, `${tap}.memory`, level.memory);
    return level;
  });
}

function features(shapes: number[][], b: number, seed: number): Values[] {
  return shapes.map((shape, i) => seeded([b, ...shape], seed + i));
}

/** The whole CKTF loss in JS, and each level's memory afterwards. */
function cktfRef(levels: Level[], student: Values[], teacher: Values[], indices: Int32Array, negatives: Int32Array[],
  options: typeof OPTIONS): { loss: number; levelLosses: number[]; memories: MemoryRef[] } {
  const results = levels.map((l, i) => crdLevelRef(l.memory, embedRef(student[i], l.ws, l.bs), embedRef(teacher[i], l.wt, l.bt),
    indices, negatives[i], options));
  const levelLosses = results.map((r) => r.loss);
  const final = levelLosses.at(-1)!;
  const intermediate = levelLosses.slice(0, -1).reduce((a, b) => a + b, 0);
  const loss = options.convex
    ? options.theta * final + (1 - options.theta) * intermediate / (levelLosses.length - 1)
    : final + options.theta * intermediate;
  return { loss, levelLosses, memories: results.map((r) => r.memory) };
}

describe('cktf: the loss', () => {
  it('is L_final + theta * sum of the intermediate CRD losses (convex: theta L_final + (1 - theta) mean)', () => {
    for (const convex of [0, 1]) {
      for (const theta of [0.8, 0.3]) {
        const options = { ...OPTIONS, theta, convex };
        const what = `convex ${convex}, theta ${theta}`;
        const d = makeCktf(options);
        const levels = setLevels(d, 100, 1);
        const s = features(STUDENT, 3, 200);
        const t = features(TEACHER, 3, 300);
        const negatives = TAPS.map((tap) => memoryOf(d, tap).negativeIndices(IDX));
        const ref = cktfRef(levels, s, t, IDX, negatives, options);
        expectClose(lossOn(d, s, t, IDX), ref.loss, `${what}: loss`, 1e-4);
        TAPS.forEach((tap, i) => expectMemoryClose(readMemory(d, `${tap}.memory`), ref.memories[i], `${what}: ${tap} memory`));
        // The level whose Z was unset took it from this batch; the others kept theirs.
        expect(readMemory(d, 'stage1.memory').studentZ).toBeGreaterThan(0);
        expect(readMemory(d, 'stem.memory').studentZ).toBe(30);
      }
    }
    // The two forms differ (two intermediate levels: the sum is twice the mean).
    const forms = [0, 1].map((convex) => {
      const d = makeCktf({ ...OPTIONS, convex });
      setLevels(d, 100);
      return lossOn(d, features(STUDENT, 3, 200), features(TEACHER, 3, 300), IDX);
    });
    expect(Math.abs(forms[0] - forms[1])).toBeGreaterThan(0.1);
  });

  it('reduces to CRD on the final level at theta 0 (convex: theta 1), convex at theta 0 to the intermediate mean', () => {
    const s = features(STUDENT, 3, 210);
    const t = features(TEACHER, 3, 310);
    // A CRD distiller holding the final level's state (its child is also named after the tap: 'pooled').
    const single = crd.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, { ...crd.options, dim: DIM, negatives: 4, temperature: 0.2 }));
    created.push(single);
    let levels: Level[] = [];
    for (const options of [{ ...OPTIONS, theta: 0 }, { ...OPTIONS, theta: 1, convex: 1 }]) {
      const finalOnly = makeCktf(options);
      levels = setLevels(finalOnly, 120);
      for (const path of single.stateDict().keys()) setState(single, path, Array.from(stateOf(finalOnly, path).dataSync()));
      const what = `convex ${options.convex}, theta ${options.theta} = CRD on the final level`;
      expectClose(lossOn(finalOnly, s, t, IDX), lossOn(single, s, t, IDX), what, 1e-6);
    }

    const zero = makeCktf({ ...OPTIONS, theta: 0, convex: 1 });
    setLevels(zero, 120);
    const negatives = TAPS.map((tap) => memoryOf(zero, tap).negativeIndices(IDX));
    const ref = cktfRef(levels, s, t, IDX, negatives, { ...OPTIONS, theta: 0, convex: 1 });
    expectClose(lossOn(zero, s, t, IDX), (ref.levelLosses[0] + ref.levelLosses[1]) / 2, 'convex, theta 0', 1e-4);
  });

  it('has the gradient of the JS loss with respect to every student tap (central differences)', () => {
    const d = makeCktf();
    const levels = setLevels(d, 140);
    const s = features(STUDENT, 2, 220);
    const t = features(TEACHER, 2, 320);
    const idx = Int32Array.from([3, 8]);
    const negatives = TAPS.map((tap) => memoryOf(d, tap).negativeIndices(idx));
    const lossJs = (xs: number[][]) =>
      cktfRef(levels, xs.map((data, i) => ({ shape: s[i].shape, data })), t, idx, negatives, OPTIONS).loss;
    const { loss, grads } = lossAndGrads(d, s, t, idx, [0, 1, 2]);
    const xs = s.map((v) => v.data);
    expectClose(loss, lossJs(xs), 'loss', 1e-4);
    grads.forEach((grad, tap) => {
      const scale = Math.max(...grad.map(Math.abs));
      expect(scale, `${TAPS[tap]}: gradient size`).toBeGreaterThan(1e-4);
      grad.forEach((g, i) => {
        const unit = xs.map((x, k) => x.map((_, j) => (k === tap && j === i ? 1 : 0)));
        expectClose(g, directionalDifference(lossJs, xs, unit), `d loss / d ${TAPS[tap]}[${i}]`, 2e-3, 2e-3 * scale);
      });
    });
    const directions = xs.map((x, k) => Array.from(randomValues(x.length, seededNormal(40 + k))));
    const analytic = grads.reduce((acc, g, k) => acc + dot(g, directions[k]), 0);
    expectClose(analytic, directionalDifference(lossJs, xs, directions), 'directional derivative', 2e-3);
  });
});

describe('cktf: negatives and saved state', () => {
  it('draws repeatable negatives per level, different between levels', () => {
    const a = makeCktf({ ...OPTIONS, negatives: 9 }, 5);
    const b = makeCktf({ ...OPTIONS, negatives: 9 }, 5);
    const drawn = TAPS.map((tap) => memoryOf(a, tap).negativeIndices(IDX));
    TAPS.forEach((tap, i) => {
      expect(drawn[i].length).toBe(9);
      expect(memoryOf(b, tap).negativeIndices(IDX), tap).toEqual(drawn[i]);
      expect(memoryOf(a, tap).negativeIndices(Int32Array.from([4, 9, 1])), tap).not.toEqual(drawn[i]);
    });
    expect(drawn[0]).not.toEqual(drawn[1]);
    expect(drawn[1]).not.toEqual(drawn[2]);
  });

  it('gives the same next loss after its parameters and buffers are copied to a fresh distiller (a resume)', () => {
    const a = makeCktf(OPTIONS, 6);
    lossOn(a, features(STUDENT, 3, 230), features(TEACHER, 3, 330), IDX);
    const b = makeCktf(OPTIONS, 7);
    copyState(a, b);
    const idx = Int32Array.from([2, 5, 7]);
    const s = features(STUDENT, 3, 240);
    const t = features(TEACHER, 3, 340);
    expect(lossOn(b, s, t, idx)).toBe(lossOn(a, s, t, idx));
    for (const tap of TAPS) {
      for (const name of ['studentBank', 'teacherBank', 'studentZ', 'teacherZ', 'seed']) {
        expect(readState(b, `${tap}.memory.${name}`), `${tap} ${name}`).toEqual(readState(a, `${tap}.memory.${name}`));
      }
    }
    expect(a.namedParameters().length).toBe(4 * TAPS.length);
  });
});

describe('cktf: the method', () => {
  it('declares SPEC section 3\'s settings and reads every tap', () => {
    expect(cktf.beta).toBe(1);
    expect(cktf.needsIndices).toBe(true);
    expect(cktf.options).toEqual({ dim: 128, negatives: 4096, temperature: 0.1, momentum: 0.5, theta: 0.8, convex: 0 });
    expect(cktf.tapsRead(['stem', 'stage1', 'stage2', 'stage3', 'pooled'])).toEqual([0, 1, 2, 3, 4]);
    // theta is any weight >= 0 in the public form, a share in [0, 1] in the convex one.
    created.push(cktf.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, { ...OPTIONS, theta: 1.5 })));
    expect(() => cktf.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, { ...OPTIONS, theta: -0.1 })))
      .toThrow(/^method cktf: option theta must be >= 0, got -0.1$/);
    expect(() => cktf.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, { ...OPTIONS, theta: 1.5, convex: 1 })))
      .toThrow(/^method cktf: option theta must be in \[0, 1\] with convex 1, got 1.5$/);
    expect(() => cktf.createDistiller!(setupFor(TAPS, STUDENT, TEACHER, N, { ...OPTIONS, convex: 2 })))
      .toThrow(/^method cktf: option convex must be 0 or 1, got 2$/);
    expect(() => cktf.createDistiller!(setupFor(['pooled'], [[5]], [[6]], N, OPTIONS))).toThrow(/at least 2 taps/);
  });

  it('runs with gradients on resnet20, vgg8, cnn-small and resnet18 (Tiny-ImageNet) without leaking tensors', () => {
    for (const c of ARCHITECTURES) runOnArchitecture(cktf, c, { ...cktf.options, negatives: 8 });
  });
});
