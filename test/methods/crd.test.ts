// CRD (Tian et al., ICLR 2020) against its formulas worked out here in plain JS (double precision, support/
// distillerChecks.ts): the NCE loss with set embedding heads, memory banks and Z and the distiller's negatives; Z
// from the first batch and then fixed; the memory update; the gradient with respect to the student's features
// (central differences of the JS loss); the symmetry of the student and teacher roles and the banks' fixed point
// with identical features; repeatable negatives; state copied as checkpoints do; runs on four architectures.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { crd } from '../../methods/crd.ts';
import type { FeatureDistiller } from '../../methods/distiller.ts';
import { ContrastMemory } from '../../methods/features/contrastiveMemory.ts';
import { initializeParameters } from '../../models/nn/index.ts';
import { randomValues, seededNormal } from '../support/random.ts';
import {
  ARCHITECTURES, copyState, crdLevelRef, directionalDifference, dot, embedRef, expectAllClose, expectClose,
  expectMemoryClose, lossAndGrads, lossOn, type MemoryRef, nceSideRef, readMemory, readState, runOnArchitecture,
  seeded, setMemory, setSeeded, setState, setupFor, stateOf, unitRows, type Values,
} from './support/distillerChecks.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const created: FeatureDistiller[] = [];
afterEach(() => {
  for (const d of created.splice(0)) d.dispose();
});

const TAPS = ['stem', 'pooled'];
const N = 12;
const DIM = 4;
const OPTIONS = { dim: DIM, negatives: 5, temperature: crd.options.temperature, momentum: crd.options.momentum };
const MEM = 'pooled.memory';

/** A CRD distiller on a stand-in model: stem [2, 2, 3], pooled 5 (student) / 6 (teacher) values. */
function makeCrd(options: Record<string, number> = OPTIONS, seed = 1, teacherPooled = 6): FeatureDistiller {
  const d = crd.createDistiller!(setupFor(TAPS, [[2, 2, 3], [5]], [[2, 2, 3], [teacherPooled]], N, options));
  initializeParameters(d, seed);
  created.push(d);
  return d;
}

function memoryOf(d: FeatureDistiller, path = MEM): ContrastMemory {
  const m = d.namedModules().find(([p]) => p === path)?.[1];
  if (!(m instanceof ContrastMemory)) throw new Error(`no contrastive memory at ${path}`);
  return m;
}

interface Heads { ws: Values; bs: Values; wt: Values; bt: Values }

/** Sets both embedding heads to seeded values; returns them. */
function setHeads(d: FeatureDistiller, seed: number): Heads {
  return {
    ws: setSeeded(d, 'pooled.embedStudent.linear.weight', seed, 0.6),
    bs: setSeeded(d, 'pooled.embedStudent.linear.bias', seed + 1, 0.2),
    wt: setSeeded(d, 'pooled.embedTeacher.linear.weight', seed + 2, 0.6),
    bt: setSeeded(d, 'pooled.embedTeacher.linear.bias', seed + 3, 0.2),
  };
}

/** Features of a batch of `b`: stem maps (not read by CRD) and pooled vectors. */
function features(b: number, seed: number, pooled = 5): Values[] {
  return [seeded([b, 2, 2, 3], seed), seeded([b, pooled], seed + 1)];
}

const IDX = Int32Array.from([7, 2, 10]);

describe('crd: the NCE loss', () => {
  it('equals the paper\'s NCE with set heads, banks, Z and the distiller\'s negatives, and updates the banks', () => {
    for (const temperature of [0.1, 0.5]) {
      const options = { ...OPTIONS, temperature };
      const d = makeCrd(options);
      const heads = setHeads(d, 11);
      const s = features(3, 31);
      const t = features(3, 41, 6);
      const es = embedRef(s[1], heads.ws, heads.bs);
      const et = embedRef(t[1], heads.wt, heads.bt);
      const negatives = memoryOf(d).negativeIndices(IDX);
      expect(negatives.length).toBe(5);
      const studentBank = unitRows(N, DIM, 21);
      const teacherBank = unitRows(N, DIM, 22);
      // Z near its first-batch estimate (as in training), but set by hand.
      const memory: MemoryRef = {
        studentBank, teacherBank,
        studentZ: Math.fround(1.3 * N * Math.exp(0.2 / temperature)), teacherZ: Math.fround(0.8 * N * Math.exp(0.1 / temperature)),
      };
      setMemory(d, MEM, memory);
      const ref = crdLevelRef(memory, es, et, IDX, negatives, options);
      expectClose(lossOn(d, s, t, IDX), ref.loss, `T ${temperature}: loss`, 1e-4);
      const after = readMemory(d, MEM);
      expectMemoryClose(after, ref.memory, `T ${temperature}: memory after the batch`);
      // Z was set: it stays. Rows outside the batch are untouched (bit for bit).
      expect(after.studentZ).toBe(memory.studentZ);
      expect(after.teacherZ).toBe(memory.teacherZ);
      for (let row = 0; row < N; row++) {
        if (IDX.includes(row)) continue;
        expect(after.studentBank[row], `student bank row ${row}`).toEqual(studentBank[row]);
        expect(after.teacherBank[row], `teacher bank row ${row}`).toEqual(teacherBank[row]);
      }
      // The batch's rows: normalize(0.5 m + 0.5 e), written out once more.
      IDX.forEach((row, i) => {
        const mixed = studentBank[row].map((m, c) => 0.5 * m + 0.5 * es[i][c]);
        const norm = Math.sqrt(dot(mixed, mixed));
        expectAllClose(after.studentBank[row], mixed.map((v) => v / norm), `student bank row ${row}`, 1e-5);
      });
    }
  });

  it('sets Z from the first batch (mean score times N) and keeps it; banks start as seeded unit rows', () => {
    const d = makeCrd(OPTIONS, 5);
    const heads = setHeads(d, 12);
    const memory0 = readMemory(d, MEM);
    expect(memory0.studentZ).toBe(0);
    expect(memory0.teacherZ).toBe(0);
    for (const row of [...memory0.studentBank, ...memory0.teacherBank]) expectClose(dot(row, row), 1, 'bank row norm', 1e-5);
    expect(memory0.studentBank).not.toEqual(memory0.teacherBank);

    const s1 = features(3, 51);
    const t1 = features(3, 61, 6);
    const first = crdLevelRef(memory0, embedRef(s1[1], heads.ws, heads.bs), embedRef(t1[1], heads.wt, heads.bt), IDX,
      memoryOf(d).negativeIndices(IDX), OPTIONS);
    expectClose(lossOn(d, s1, t1, IDX), first.loss, 'first batch loss', 1e-4);
    const memory1 = readMemory(d, MEM);
    expectMemoryClose(memory1, first.memory, 'after the first batch');
    expect(memory1.studentZ).toBeGreaterThan(0);

    const idx2 = Int32Array.from([0, 7, 11]);
    const s2 = features(3, 71);
    const t2 = features(3, 81, 6);
    const second = crdLevelRef(memory1, embedRef(s2[1], heads.ws, heads.bs), embedRef(t2[1], heads.wt, heads.bt), idx2,
      memoryOf(d).negativeIndices(idx2), OPTIONS);
    expectClose(lossOn(d, s2, t2, idx2), second.loss, 'second batch loss', 1e-4);
    const memory2 = readMemory(d, MEM);
    expect(memory2.studentZ).toBe(memory1.studentZ);
    expect(memory2.teacherZ).toBe(memory1.teacherZ);
    expectMemoryClose(memory2, second.memory, 'after the second batch');
  });

  it('has the gradient of the JS loss with respect to the student\'s features (central differences)', () => {
    const d = makeCrd();
    const heads = setHeads(d, 13);
    const memory: MemoryRef = { studentBank: unitRows(N, DIM, 23), teacherBank: unitRows(N, DIM, 24), studentZ: 60, teacherZ: 45 };
    setMemory(d, MEM, memory);
    const s = features(3, 91);
    const t = features(3, 95, 6);
    const negatives = memoryOf(d).negativeIndices(IDX);
    const et = embedRef(t[1], heads.wt, heads.bt);
    const lossJs = ([pooled]: number[][]) =>
      crdLevelRef(memory, embedRef({ shape: s[1].shape, data: pooled }, heads.ws, heads.bs), et, IDX, negatives, OPTIONS).loss;
    const { loss, grads: [grad] } = lossAndGrads(d, s, t, IDX, [1]);
    expectClose(loss, lossJs([s[1].data]), 'loss', 1e-4);
    const scale = Math.max(...grad.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    s[1].data.forEach((_, i) => {
      const unit = s[1].data.map((__, j) => (j === i ? 1 : 0));
      expectClose(grad[i], directionalDifference(lossJs, [s[1].data], [unit]), `d loss / d pooled[${i}]`, 2e-3, 2e-3 * scale);
    });
    const direction = Array.from(randomValues(grad.length, seededNormal(7)));
    expectClose(dot(grad, direction), directionalDifference(lossJs, [s[1].data], [direction]), 'directional derivative', 2e-3);
  });
});

describe('crd: identical features, symmetry and the banks\' fixed point', () => {
  it('gives equal student and teacher terms when features, heads, banks and Z are the same', () => {
    // Same pooled width on both sides so the heads can be equal.
    const d = makeCrd(OPTIONS, 1, 5);
    const ws = setSeeded(d, 'pooled.embedStudent.linear.weight', 14, 0.6);
    const bs = setSeeded(d, 'pooled.embedStudent.linear.bias', 15, 0.2);
    setState(d, 'pooled.embedTeacher.linear.weight', ws);
    setState(d, 'pooled.embedTeacher.linear.bias', bs);
    const bank = unitRows(N, DIM, 25);
    setMemory(d, MEM, { studentBank: bank, teacherBank: bank, studentZ: 50, teacherZ: 50 });
    const s = features(3, 101);
    const e = embedRef(s[1], ws, bs);
    const negatives = memoryOf(d).negativeIndices(IDX);
    const side = nceSideRef(e, bank, IDX, negatives, 50, OPTIONS.temperature);
    expectClose(lossOn(d, s, s, IDX), 2 * side, 'loss = 2 x one side', 1e-4);
    // The banks stay equal to each other after the update.
    const after = readMemory(d, MEM);
    expect(after.studentBank).toEqual(after.teacherBank);
  });

  it('is symmetric in the roles: swapping features, heads, banks and Z gives the same loss', () => {
    const a = makeCrd(OPTIONS, 1, 5);
    const b = makeCrd(OPTIONS, 2, 5);
    const heads = setHeads(a, 16);
    setState(b, 'pooled.embedStudent.linear.weight', heads.wt);
    setState(b, 'pooled.embedStudent.linear.bias', heads.bt);
    setState(b, 'pooled.embedTeacher.linear.weight', heads.ws);
    setState(b, 'pooled.embedTeacher.linear.bias', heads.bs);
    const m = { studentBank: unitRows(N, DIM, 26), teacherBank: unitRows(N, DIM, 27), studentZ: 40, teacherZ: 70 };
    setMemory(a, MEM, m);
    setMemory(b, MEM, { studentBank: m.teacherBank, teacherBank: m.studentBank, studentZ: m.teacherZ, teacherZ: m.studentZ });
    // b draws the same negatives as a (same seed buffer).
    setState(b, `${MEM}.seed`, readState(a, `${MEM}.seed`));
    const s = features(3, 111);
    const t = features(3, 121);
    expectClose(lossOn(b, t, s, IDX), lossOn(a, s, t, IDX), 'swapped roles', 1e-5);
  });

  it('moves the batch\'s bank rows onto fixed embeddings: their positive score reaches its maximum 1/T', () => {
    const d = makeCrd(OPTIONS, 1, 5);
    const ws = setSeeded(d, 'pooled.embedStudent.linear.weight', 17, 0.6);
    const bs = setSeeded(d, 'pooled.embedStudent.linear.bias', 18, 0.2);
    setState(d, 'pooled.embedTeacher.linear.weight', ws);
    setState(d, 'pooled.embedTeacher.linear.bias', bs);
    const s = features(3, 131);
    const e = embedRef(s[1], ws, bs);
    for (let step = 0; step < 30; step++) lossOn(d, s, s, IDX);
    const memory = readMemory(d, MEM);
    // normalize(m e + (1 - m) e) = e is the update's fixed point; each step halves the distance.
    IDX.forEach((row, i) => {
      expectAllClose(memory.studentBank[row], e[i], `student bank row ${row}`, 0, 1e-6);
      expectAllClose(memory.teacherBank[row], e[i], `teacher bank row ${row}`, 0, 1e-6);
      expectClose(dot(e[i], memory.teacherBank[row]) / OPTIONS.temperature, 1 / OPTIONS.temperature, 'positive logit', 1e-6);
    });
  });
});

describe('crd: negatives and saved state', () => {
  it('draws the same negatives for the same indices and seed, others for other indices or seeds, capped at N - 1', () => {
    const a = makeCrd({ ...OPTIONS, negatives: 8 }, 3);
    const b = makeCrd({ ...OPTIONS, negatives: 8 }, 3);
    const c = makeCrd({ ...OPTIONS, negatives: 8 }, 4);
    const na = memoryOf(a).negativeIndices(IDX);
    expect(na.length).toBe(8);
    expect(Array.from(na).every((j) => Number.isInteger(j) && j >= 0 && j < N)).toBe(true);
    expect(memoryOf(a).negativeIndices(IDX)).toEqual(na);
    expect(memoryOf(b).negativeIndices(IDX)).toEqual(na);
    expect(memoryOf(a).negativeIndices(Int32Array.from([7, 2, 11]))).not.toEqual(na);
    expect(memoryOf(c).negativeIndices(IDX)).not.toEqual(na);
    // The seed is a buffer: a copied state draws the same (a resumed run).
    copyState(a, c);
    expect(memoryOf(c).negativeIndices(IDX)).toEqual(na);
    // Calling the loss does not change the draws.
    lossOn(a, features(3, 141), features(3, 142, 6), IDX);
    expect(memoryOf(a).negativeIndices(IDX)).toEqual(na);
    expect(memoryOf(makeCrd({ ...OPTIONS, negatives: 1000 })).negativeIndices(IDX).length).toBe(N - 1);
    expect(memoryOf(makeCrd({ ...crd.options })).negatives).toBe(N - 1);
  });

  it('gives the same next loss after its parameters and buffers are copied to a fresh distiller (a resume)', () => {
    const a = makeCrd(OPTIONS, 3);
    lossOn(a, features(3, 151), features(3, 152, 6), IDX);
    const b = makeCrd(OPTIONS, 8);
    expect(readState(b, `${MEM}.teacherBank`)).not.toEqual(readState(a, `${MEM}.teacherBank`));
    copyState(a, b);
    const idx = Int32Array.from([1, 5, 9]);
    const s = features(3, 161);
    const t = features(3, 162, 6);
    expect(lossOn(b, s, t, idx)).toBe(lossOn(a, s, t, idx));
    for (const name of ['studentBank', 'teacherBank', 'studentZ', 'teacherZ']) {
      expect(readState(b, `${MEM}.${name}`), name).toEqual(readState(a, `${MEM}.${name}`));
    }
    // What a checkpoint holds: the heads' parameters and the memory's buffers.
    expect([...a.stateDict().keys()].sort()).toEqual([
      'pooled.embedStudent.linear.bias', 'pooled.embedStudent.linear.weight', 'pooled.embedTeacher.linear.bias',
      'pooled.embedTeacher.linear.weight', 'pooled.memory.seed', 'pooled.memory.studentBank', 'pooled.memory.studentZ',
      'pooled.memory.teacherBank', 'pooled.memory.teacherZ',
    ]);
    expect(a.namedParameters().map((p) => p.name).sort()).toEqual([
      'pooled.embedStudent.linear.bias', 'pooled.embedStudent.linear.weight', 'pooled.embedTeacher.linear.bias',
      'pooled.embedTeacher.linear.weight',
    ]);
  });
});

describe('crd: the method', () => {
  it('declares SPEC section 3\'s settings and checks its input', () => {
    expect(crd.beta).toBe(0.8);
    expect(crd.needsIndices).toBe(true);
    expect(crd.options).toEqual({ dim: 128, negatives: 16384, temperature: 0.1, momentum: 0.5 });
    expect(crd.tapsRead(['stem', 'stage1', 'pooled'])).toEqual([2]);
    const d = makeCrd();
    expect(stateOf(d, `${MEM}.studentBank`).shape).toEqual([N, DIM]);
    expect(() => lossOn(d, features(3, 171), features(3, 172, 6), Int32Array.from([1, 2]))).toThrow(/2 sample indices for a batch of 3/);
    expect(() => lossOn(d, features(3, 171), features(3, 172, 6), Int32Array.from([1, 2, N]))).toThrow(/outside the memory bank/);
    expect(() => crd.createDistiller!(setupFor(TAPS, [[2, 2, 3], [5]], [[2, 2, 3], [6]], 1, OPTIONS))).toThrow(/at least 2 samples/);
    expect(() => crd.createDistiller!(setupFor(TAPS, [[2, 2, 3], [5]], [[2, 2, 3], [6]], N, { ...OPTIONS, momentum: 1 })))
      .toThrow(/momentum/);
  });

  it('runs with gradients on resnet20, vgg8, cnn-small and resnet18 (Tiny-ImageNet) without leaking tensors', () => {
    for (const c of ARCHITECTURES) {
      const losses = runOnArchitecture(crd, c, { ...crd.options, negatives: 8 });
      expect(losses.length).toBe(2);
    }
  });
});
