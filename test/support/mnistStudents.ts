// The MNIST distillation tests' common ground: the cached cnn-small teacher, W2A2 EWGS students trained from it
// with the `mnist-cnn-small` recipe (seed 1), and the no-loss control each accuracy minimum is judged against.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { METHODS } from '../../methods/registry.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { type RunResult, runTraining } from '../../runs/trainer.ts';
import { type CachedTeacher, cachedTeacher, MNIST_TEACHER } from './teacherCache.ts';

/**
 * The students' schedule on the subset: one epoch over the first 10,000 training images, in the recipe's batches
 * of 128 (78 steps): a twelfth of the recipe's images, enough to separate a method that teaches from one that does not.
 */
export const STUDENT_SUBSET: TrainRequest = { epochs: 1, trainImages: 10_000 };

/** The label-free students' schedule: the same, without the labels. */
export const LABEL_FREE_SUBSET: TrainRequest = { ...STUDENT_SUBSET, labelFree: true };

export interface MnistStudents {
  teacher: CachedTeacher;
  dataDir: string;
  /** The folder each student trains into (`train(name, ...)` writes `<work>/<name>`). */
  work: string;
  /** Trains a W2A2 EWGS student from the teacher; `request` adds to or overrides that. */
  train(name: string, request: TrainRequest, dataDir?: string): RunResult;
}

/** Initialises libtorch, gets the teacher (trained once per machine) and a fresh work folder. */
export async function mnistStudents(prefix: string): Promise<MnistStudents> {
  const backend = await initBackend('libtorch');
  const dataDir = resolveDataDir();
  const teacher = cachedTeacher(MNIST_TEACHER, { dataDir, backend });
  const work = mkdtempSync(join(tmpdir(), `sqakd-${prefix}-`));
  const train = (name: string, request: TrainRequest, data = dataDir) => runTraining(resolveTrainConfig({
    recipe: 'mnist-cnn-small', seed: 1, quantizer: 'ewgs', wBits: 2, aBits: 2, teacher: teacher.checkpoint, ...request,
  }), { out: join(work, name), dataDir: data, backend, progress: null, log: () => {} });
  return { teacher, dataDir, work, train };
}

/** A method's student: one pre-stage epoch where it has one, CRD with 4,096 negatives (the subsets are small). */
export function methodRequest(method: string, request: TrainRequest = {}): TrainRequest {
  return {
    method, preEpochs: METHODS[method].preEpochs ? 1 : undefined,
    methodOptions: METHODS[method].options.negatives ? { negatives: 4096 } : undefined, ...request,
  };
}

/**
 * The same student trained with no loss at all (label-free AT with beta 0, and no KL): only the optimizers' weight
 * decay moves it, which is where a method that teaches nothing would leave it.
 */
export function noLossControl(request: TrainRequest): TrainRequest {
  return methodRequest('at', { ...request, labelFree: true, beta: 0 });
}

/** Each result below its minimum, as `method: got% < minimum%` lines. */
export function belowMinimum(results: Record<string, RunResult>, minimums: Record<string, number>): string[] {
  return Object.entries(results).filter(([name, r]) => !(r.top1 >= minimums[name]))
    .map(([name, r]) => `${name}: ${r.top1}% < ${minimums[name]}%`);
}

/** One line listing each run's top-1 and seconds. */
export function describeResults(results: Record<string, RunResult>): string {
  return Object.entries(results).map(([name, r]) => `${name} ${r.top1.toFixed(2)}% (${r.wallSeconds.toFixed(0)} s)`).join(', ');
}
