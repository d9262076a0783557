// --ewgs-delta hessian: EWGS's delta re-estimated from Hessian traces (SPEC section 1: every 10 epochs) on the
// first batches of the epoch, and restored on resume.
import * as tf from '@tensorflow/tfjs-core';

import type { DataLoader } from '../datasets/loader.ts';
import { EwgsQuantizer } from '../methods/quantizers/ewgs.ts';
import { updateEwgsDeltas } from '../methods/quantizers/hessianDelta.ts';
import type { LossInputs } from '../methods/method.ts';
import type { Classifier } from '../models/classifier.ts';
import type { Module } from '../models/nn/module.ts';
import { deriveSeed } from '../models/nn/index.ts';

export const HESSIAN_EVERY = 10;
const HESSIAN_BATCHES = 2;

function* takeBatches<T>(source: Generator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const next = source.next();
    if (next.done) return;
    yield next.value;
  }
  source.return(undefined);
}

/**
 * Sets each EWGS quantizer's delta from Hessian-trace estimates of `loss`; returns the deltas by path. Its forward
 * passes run in training mode, as training does, so they update buffers: the student's batch-norm running
 * statistics and the loss's own state (a distiller's, e.g. CRD's memory banks). All are put back as they were, so
 * apart from the deltas the estimate leaves training exactly where it found it.
 */
export function estimateDeltas(student: Classifier, teacher: Classifier | null, loss: (inputs: LossInputs) => tf.Scalar,
  lossState: Module | null, loader: DataLoader, epoch: number, seed: number): Record<string, number> {
  const batches = [...takeBatches(loader.epoch(epoch), HESSIAN_BATCHES)];
  const buffers = [student, teacher, lossState].flatMap((m) => m?.namedBuffers() ?? []);
  const saved = buffers.map(([, buffer]) => [buffer, tf.keep(buffer.clone())] as const);
  try {
    const losses = batches.map((batch) => () => loss({
      student: student.forwardWithFeatures(batch.x),
      teacher: teacher ? teacher.forwardWithFeatures(batch.x) : undefined,
      labels: batch.labels,
      indices: batch.indices,
    }));
    const estimates = updateEwgsDeltas(student, losses, { samples: 2, epsilon: 1e-3, seed: deriveSeed(seed, `hessian:${epoch}`) });
    return Object.fromEntries(estimates.map((e) => [e.path, e.delta]));
  } finally {
    for (const b of batches) tf.dispose([b.x, ...(b.labels ? [b.labels] : [])]);
    for (const [buffer, value] of saved) {
      buffer.assign(value);
      value.dispose();
    }
  }
}

/** Sets saved deltas back on a model's EWGS quantizers. */
export function setDeltas(model: Classifier, deltas: Record<string, number>): void {
  for (const [path, m] of model.namedModules()) if (m instanceof EwgsQuantizer && path in deltas) m.delta = deltas[path];
}
