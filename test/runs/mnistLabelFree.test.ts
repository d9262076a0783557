// With CE in the loss a broken feature term can hide behind the labels, so every feature method that can also
// trains label-free (its own loss is the only signal) on MNIST from the cached teacher: each must reach its
// measured minimum, far above the same student trained with no loss at all.
import { beforeAll, describe, expect, it } from 'vitest';

import { METHODS } from '../../methods/registry.ts';
import type { RunResult } from '../../runs/trainer.ts';
import {
  belowMinimum, describeResults, LABEL_FREE_SUBSET, methodRequest, type MnistStudents, mnistStudents, noLossControl,
} from '../support/mnistStudents.ts';

const LABEL_FREE = Object.values(METHODS).filter((m) => m.kind === 'feature' && m.labelFree.possible).map((m) => m.name);

/**
 * The least top-1 (%) of each label-free W2A2 student: 3.5 points below the lowest of three measurements (OpenBLAS
 * with two threads, as CI runs / OpenBLAS with one thread / the reference BLAS with one thread; label-free runs on
 * another machine once ended 4.7 points from the others, hence the wider margin), with the public code's method
 * forms and the sample-std calibration (issue 14), from the 98.86% teacher, on an AVX-512 EPYC:
 * at 95.63/95.01/95.01, nst 95.31/93.05/94.77, sp 96.73/97.12/96.53, rkd 96.98/96.49/96.41, crd 59.07/50.81/41.81,
 * fitnet 87.89/86.88/86.88, cc 37.66/37.41/41.74, vid 78.31/80.18/80.18, ft 92.24/93.77/93.77, cktf 40.34/36.84/40.13;
 * the student without loss: 20.08/19.85/19.85%. (Before issue 14's forms, from the 98.92% teacher on another
 * machine, with 3-point margins: at 92.9, nst 92.8, sp 92.0, rkd 92.5, crd 37.3, fitnet 84.0, cc 34.6, vid 64.5,
 * ft 92.1, cktf 36.1.) The pooled-feature methods (CRD, CC, CKTF) constrain the features only through learned
 * embeddings and leave the classifier's inputs free to drift, so alone they keep less of the teacher's accuracy;
 * the control shows they still teach.
 */
const LABEL_FREE_MINIMUM: Record<string, number> = {
  at: 91.5, nst: 89.5, sp: 93.0, rkd: 92.9, crd: 38.3, fitnet: 83.3, cc: 33.9, vid: 74.8, ft: 88.7, cktf: 33.3,
};

describe('every feature method label-free on MNIST', () => {
  let students: MnistStudents;

  beforeAll(async () => {
    students = await mnistStudents('mnist-label-free');
  });

  it('trains a W2A2 student with every feature method label-free, each far above the same student without loss', () => {
    const control = students.train('no-loss', noLossControl(LABEL_FREE_SUBSET));
    const results: Record<string, RunResult> = {};
    for (const name of LABEL_FREE) results[name] = students.train(name, methodRequest(name, LABEL_FREE_SUBSET));
    console.log(`label-free W2A2 EWGS students, ${LABEL_FREE_SUBSET.trainImages} images: ${describeResults(results)}; ` +
      `without any loss: ${control.top1.toFixed(2)}%`);
    for (const name of LABEL_FREE) expect(results[name].labelsUsed, name).toBe(false);
    expect(Object.keys(LABEL_FREE_MINIMUM).sort()).toEqual([...LABEL_FREE].sort());
    // A minimum means something only well above where a method that teaches nothing leaves the student: 10 points
    // (the control ended at 10.35% on one machine and 20.08% on another, an AVX-512 EPYC: weight decay alone moves it).
    expect(Math.min(...Object.values(LABEL_FREE_MINIMUM))).toBeGreaterThan(control.top1 + 10);
    expect(belowMinimum(results, LABEL_FREE_MINIMUM)).toEqual([]);
  });
});
