// Distillation end to end on real data (MNIST, cnn-small): a full-precision teacher, then W2A2 EWGS/STE students
// from it. SQAKD (KL to the teacher only) against the CE baseline, same seed and schedule: SQAKD must reach 97%
// without ever seeing a label, which a run on garbage training labels proves (it ends bit-for-bit identical). Then
// every method of the registry for the recipe's two epochs: each must reach a minimum measured for it. With CE in the
// loss a broken feature term can hide behind the labels, so every feature method also runs label-free, where its own
// loss is the only signal: each must climb far above the untrained quantized student it starts from.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { initBackend } from '../../engine/index.ts';
import { loadCheckpoint } from '../../runs/checkpoint.ts';
import { evaluate } from '../../runs/evaluate.ts';
import { METHODS } from '../../methods/registry.ts';
import { loadTrainedModel } from '../../runs/trainedModel.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { type RunResult, runTraining } from '../../runs/trainer.ts';
import { seededUniform } from '../support/random.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-mnist-'));
const dataDir = resolveDataDir();
let backend: string;

function train(out: string, request: TrainRequest, data = dataDir): RunResult {
  return runTraining(resolveTrainConfig({ recipe: 'mnist-cnn-small', seed: 1, ...request }), {
    out: join(work, out), dataDir: data, backend, progress: null, log: () => {},
  });
}

const student = (method: string): TrainRequest => ({
  quantizer: 'ewgs', wBits: 2, aBits: 2, method, teacher: join(work, 'teacher', 'checkpoint.ckpt'),
});

/**
 * SQAKD against CE trains one epoch more than the recipe's two: at two epochs, runs whose arithmetic differed only in
 * rounding (BLAS library, thread count) ended between 97.35% and 98.21%, too close to the 97% the claim needs; at
 * three they ended at 98.16-98.31% (SQAKD) and 98.30-98.42% (CE).
 */
const comparison = (method: string): TrainRequest => ({ ...student(method), epochs: 3 });

/** A data directory whose MNIST train labels are random (the images and the test split are the real ones). */
function garbageLabelData(): string {
  const dir = join(work, 'garbage-data');
  mkdirSync(join(dir, 'mnist'), { recursive: true });
  for (const file of ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    symlinkSync(join(dataDir, 'mnist', file), join(dir, 'mnist', file));
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

/**
 * The least top-1 (%) each method's W2A2 student must reach after the recipe's two epochs (pre-stages: one epoch),
 * from the 98.9% teacher: 1.5 points below the lowest of three measurements whose arithmetic differed (OpenBLAS with
 * two threads, as CI runs; OpenBLAS and the reference BLAS with one thread each: trajectories that differ only in
 * rounding ended up to 1.5 points apart), and never below 95. One epoch was too noisy for a useful minimum.
 * Measured: ce 98.00/98.38/97.55, kd 97.95/97.92/98.10, sqakd 98.21/98.18/97.35, at 96.73/96.99/97.03,
 * nst 97.99/97.17/96.72, sp 97.39/97.79/97.79, rkd 98.10/98.10/97.74, crd 98.24/97.95/98.44,
 * fitnet 97.31/97.75/97.65, cc 97.92/98.07/97.93, vid 97.14/98.35/98.69, fsp 98.07/97.60/98.21,
 * ft 97.49/96.76/97.29, cktf 98.06/98.46 (the third run was stopped); a fourth run, on a later version and another
 * machine, repeated the first to the digit except sp 98.05, crd 97.89, fitnet 97.53, cktf 97.95.
 */
const MINIMUM_TOP1: Record<string, number> = {
  ce: 96, kd: 96.4, sqakd: 95.8, at: 95.2, nst: 95.2, sp: 95.8, rkd: 96.2, crd: 96.3, fitnet: 95.8, cc: 96.4, vid: 95.6,
  fsp: 96.1, ft: 95.2, cktf: 96.4,
};

/** The feature methods that can run without labels, with the training images and epochs of that test. */
const LABEL_FREE = Object.values(METHODS).filter((m) => m.kind === 'feature' && m.labelFree.possible);
const LABEL_FREE_IMAGES = 20_000;

/**
 * The least top-1 (%) of each label-free W2A2 student (the method's own loss only: no CE, no KL) after two epochs
 * over the first 20,000 training images (pre-stages: one epoch), from the same teacher: 3 points below the lowest of
 * three measurements (two threads and one on one machine; a later run, two threads, on another, which repeated NST
 * to the digit). That third run ended NST 4.7 points and VID 2.6 below the first two, while its runs with labels
 * repeated earlier measurements exactly; the cause is not known, hence the wide margin. Measured:
 * at 95.93/95.66/96.63, nst 95.32/96.22/91.48, sp 97.07/96.12/96.86,
 * rkd 97.09/97.15/96.72, crd 54.31/52.46/63.48, fitnet 91.72/92.57/90.80, cc 30.73/29.98/35.40,
 * vid 93.56/92.65/90.07, ft 95.91/96.32/96.79, cktf 62.91/60.35/61.60. The pooled-feature methods (CRD, CC, CKTF)
 * constrain the features only through learned embeddings and leave the classifier's inputs free to drift, so alone
 * they keep little of the teacher's accuracy; the control below shows they still teach: with the loss switched off,
 * Adam's coupled weight decay alone takes the student to 11.03-11.61%.
 */
const LABEL_FREE_MINIMUM: Record<string, number> = {
  at: 92.6, nst: 88.4, sp: 93.1, rkd: 93.7, crd: 49.4, fitnet: 87.8, cc: 26.9, vid: 87.0, ft: 92.9, cktf: 57.3,
};

describe('SQAKD on MNIST with cnn-small', () => {
  let teacher: RunResult;
  let sqakd: RunResult;
  let ce: RunResult;

  beforeAll(async () => {
    backend = await initBackend('libtorch');
  });

  it('trains a full-precision teacher to at least 98%', () => {
    teacher = train('teacher', { epochs: 3 });
    console.log(`teacher: ${teacher.top1.toFixed(2)}% after ${teacher.epochs} epochs, ${teacher.wallSeconds.toFixed(0)} s`);
    expect(teacher.quantizer).toBe('none');
    expect(teacher.top1).toBeGreaterThanOrEqual(98);
  });

  it('trains a W2A2 SQAKD student to at least 97% without labels, within 0.5 points of the CE baseline', () => {
    sqakd = train('sqakd', comparison('sqakd'));
    ce = train('ce', comparison('ce'));
    console.log(`W2A2 EWGS students, ${sqakd.epochs} epochs from the ${teacher.top1.toFixed(2)}% teacher: ` +
      `SQAKD ${sqakd.top1.toFixed(2)}% (no labels), CE ${ce.top1.toFixed(2)}% (labels)`);
    expect(sqakd.labelsUsed).toBe(false);
    expect(ce.labelsUsed).toBe(true);
    expect(sqakd.teacherTop1).toBe(teacher.top1);
    expect(sqakd.top1).toBeGreaterThanOrEqual(97);
    expect(sqakd.top1).toBeGreaterThanOrEqual(ce.top1 - 0.5);
  });

  it('ends identically when every training label is garbage: no label reaches the SQAKD loss', () => {
    const garbage = train('sqakd-garbage-labels', comparison('sqakd'), garbageLabelData());
    expect(garbage.top1).toBe(sqakd.top1);
    const a = loadCheckpoint(join(work, 'sqakd', 'checkpoint.ckpt')).tensors;
    const b = loadCheckpoint(join(work, 'sqakd-garbage-labels', 'checkpoint.ckpt')).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(Array.from(b.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
  });

  it('trains a W2A2 student with every method of the registry to its minimum accuracy', () => {
    const results: string[] = [];
    const failures: string[] = [];
    for (const method of Object.values(METHODS)) {
      const result = train(`method-${method.name}`, {
        ...student(method.name), preEpochs: method.preEpochs ? 1 : undefined,
        methodOptions: method.options.negatives ? { negatives: 4096 } : undefined,
      });
      results.push(`${method.name} ${result.top1.toFixed(2)}% (${result.wallSeconds.toFixed(0)} s)`);
      if (!(result.top1 >= MINIMUM_TOP1[method.name])) failures.push(`${method.name}: ${result.top1}% < ${MINIMUM_TOP1[method.name]}%`);
    }
    console.log(`W2A2 EWGS students, 2 epochs each: ${results.join(', ')}`);
    expect(Object.keys(MINIMUM_TOP1).sort()).toEqual(Object.keys(METHODS).sort());
    expect(failures).toEqual([]);
  });

  it('trains a W2A2 student with every feature method label-free, each far above the same run without its loss', () => {
    const labelFree = (name: string): TrainRequest => ({
      ...student(name), labelFree: true, trainImages: LABEL_FREE_IMAGES,
      preEpochs: METHODS[name].preEpochs ? 1 : undefined,
      methodOptions: METHODS[name].options.negatives ? { negatives: 4096 } : undefined,
    });
    // Label-free with beta 0 and no KL: a loss of zero, so only the optimizers' weight decay moves the student.
    const control = train('label-free-control', { ...labelFree('at'), beta: 0 });
    const results: string[] = [];
    const failures: string[] = [];
    for (const method of LABEL_FREE) {
      const result = train(`label-free-${method.name}`, labelFree(method.name));
      expect(result.labelsUsed, method.name).toBe(false);
      results.push(`${method.name} ${result.top1.toFixed(2)}% (${result.wallSeconds.toFixed(0)} s)`);
      if (!(result.top1 >= LABEL_FREE_MINIMUM[method.name])) {
        failures.push(`${method.name}: ${result.top1}% < ${LABEL_FREE_MINIMUM[method.name]}%`);
      }
    }
    console.log(`label-free W2A2 EWGS students, 2 epochs over ${LABEL_FREE_IMAGES} images: ${results.join(', ')}; ` +
      `without any loss: ${control.top1.toFixed(2)}%`);
    expect(Object.keys(LABEL_FREE_MINIMUM).sort()).toEqual(LABEL_FREE.map((m) => m.name).sort());
    // The minimums mean something only well above where a method that teaches nothing leaves the student.
    expect(Math.min(...Object.values(LABEL_FREE_MINIMUM))).toBeGreaterThan(control.top1 + 10);
    expect(failures).toEqual([]);
  });

  it('saves models that load back and evaluate to the same accuracy', () => {
    const spec = datasetSpec('mnist');
    const test = spec.load(dataDir, 'test');
    for (const [run, result] of [['teacher', teacher], ['sqakd', sqakd]] as const) {
      const { model } = loadTrainedModel(join(work, run, 'checkpoint.ckpt'));
      expect(evaluate(model, test, spec).top1, run).toBe(result.top1);
      model.dispose();
    }
  });
});
