// SQAKD end to end on real data (MNIST, cnn-small): the cached full-precision teacher, then W2A2 EWGS students from
// it for the recipe's two epochs over all 60,000 images. SQAKD (KL to the teacher only) against the CE baseline,
// same seed and schedule: SQAKD must reach 97% without ever seeing a label, which a run on garbage training labels
// proves (it ends bit-for-bit identical; checked on the first 5,000 images). The saved models load back to the same
// accuracy.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { datasetSpec } from '../../datasets/registry.ts';
import { loadCheckpoint } from '../../runs/checkpoint.ts';
import { evaluate } from '../../runs/evaluate.ts';
import { loadTrainedModel } from '../../runs/trainedModel.ts';
import type { RunResult } from '../../runs/trainer.ts';
import { type MnistStudents, mnistStudents } from '../support/mnistStudents.ts';
import { seededUniform } from '../support/random.ts';

let students: MnistStudents;

/** A data directory whose MNIST train labels are random (the images and the test split are the real ones). */
function garbageLabelData(): string {
  const dir = join(students.work, 'garbage-data');
  mkdirSync(join(dir, 'mnist'), { recursive: true });
  for (const file of ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    symlinkSync(join(students.dataDir, 'mnist', file), join(dir, 'mnist', file));
  }
  const count = 60_000;
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(0x00000801, 0);
  labels.writeUInt32BE(count, 4);
  const uniform = seededUniform(123);
  for (let i = 0; i < count; i++) labels[8 + i] = Math.floor(uniform() * 10);
  writeFileSync(join(dir, 'mnist', 'train-labels-idx1-ubyte'), labels);
  return dir;
}

describe('SQAKD on MNIST with cnn-small', () => {
  let sqakd: RunResult;

  beforeAll(async () => {
    students = await mnistStudents('mnist-sqakd');
  });

  it('has a full-precision teacher of at least 98%', () => {
    const { result, trained } = students.teacher;
    console.log(`teacher: ${result.top1.toFixed(2)}% after ${result.epochs} epochs (${trained ? 'trained now' : 'cached'})`);
    expect(result.quantizer).toBe('none');
    expect(result.top1).toBeGreaterThanOrEqual(98);
  });

  /**
   * The whole training split and the recipe's two epochs: shorter schedules are too noisy for the claim. Measured
   * (OpenBLAS two threads, as CI runs / OpenBLAS one thread / the reference BLAS one thread): two epochs, SQAKD
   * 98.21/98.18/97.35, CE 98.00/98.38/97.55; one epoch over the first 20,000 images in batches of 64, SQAKD
   * 97.73/96.34/97.25; one epoch over all 60,000, SQAKD 96.56 (two threads).
   */
  it('trains a W2A2 SQAKD student to at least 97% without labels, within 0.5 points of the CE baseline', () => {
    sqakd = students.train('sqakd', { method: 'sqakd' });
    const ce = students.train('ce', { method: 'ce' });
    console.log(`W2A2 EWGS students, ${sqakd.epochs} epochs from the ${students.teacher.result.top1.toFixed(2)}% teacher: ` +
      `SQAKD ${sqakd.top1.toFixed(2)}% (no labels), CE ${ce.top1.toFixed(2)}% (labels)`);
    expect(sqakd.labelsUsed).toBe(false);
    expect(ce.labelsUsed).toBe(true);
    expect(sqakd.teacherTop1).toBe(students.teacher.result.top1);
    expect(sqakd.top1).toBeGreaterThanOrEqual(97);
    expect(sqakd.top1).toBeGreaterThanOrEqual(ce.top1 - 0.5);
  });

  it('ends identically when every training label is garbage: no label reaches the SQAKD loss', () => {
    const real = students.train('sqakd-5k', { method: 'sqakd', trainImages: 5000 });
    const garbage = students.train('sqakd-garbage-labels', { method: 'sqakd', trainImages: 5000 }, garbageLabelData());
    expect(garbage.top1).toBe(real.top1);
    const a = loadCheckpoint(join(students.work, 'sqakd-5k', 'checkpoint.ckpt')).tensors;
    const b = loadCheckpoint(join(students.work, 'sqakd-garbage-labels', 'checkpoint.ckpt')).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(Array.from(b.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
  });

  it('saves models that load back and evaluate to the same accuracy', () => {
    const spec = datasetSpec('mnist');
    const test = spec.load(students.dataDir, 'test');
    const runs = [[students.teacher.checkpoint, students.teacher.result], [join(students.work, 'sqakd', 'checkpoint.ckpt'), sqakd]] as const;
    for (const [checkpoint, result] of runs) {
      const { model } = loadTrainedModel(checkpoint);
      expect(evaluate(model, test, spec).top1, checkpoint).toBe(result.top1);
      model.dispose();
    }
  });
});
