// Every method, in each variant it has (with CE; label-free), trains a W2A2 EWGS ResNet-20 on the synthetic set
// for a few steps with the trainer's own pieces: the loss goes down and no tensor is left behind. The pre-stage
// losses of FSP and FT are checked the same way.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { DataLoader } from '../../datasets/loader.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { initBackend } from '../../engine/index.ts';
import { type LossInputs, readsLabels } from '../../methods/method.ts';
import { METHODS } from '../../methods/registry.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import type { Classifier } from '../../models/classifier.ts';
import { calibrateQuantizers, quantizeModel } from '../../models/quantize.ts';
import { createModel } from '../../models/registry.ts';
import { loadCheckpoint, loadModelTensors } from '../../runs/checkpoint.ts';
import { createDistiller, featureParameters } from '../../runs/distillation.ts';
import { createOptimizerGroups, disposeGroups } from '../../runs/optimizerGroups.ts';
import { loadTrainedModel } from '../../runs/trainedModel.ts';
import { resolveTrainConfig } from '../../runs/trainConfig.ts';
import { trainingStep } from '../../runs/trainingStep.ts';
import { cachedTeacher, SYNTHETIC_TEACHER } from '../support/teacherCache.ts';

const spec = datasetSpec('synthetic');
const STEPS = 8;
let teacher: Classifier;
let teacherPath: string;
let batch: { x: tf.Tensor4D; labels?: tf.Tensor1D; indices: Int32Array };

beforeAll(async () => {
  const backend = await initBackend('libtorch');
  teacherPath = cachedTeacher({ ...SYNTHETIC_TEACHER, arch: 'resnet20' }, { dataDir: resolveDataDir(), backend }).checkpoint;
  teacher = loadTrainedModel(teacherPath).model.eval();
  const set = spec.load('', 'train');
  batch = new DataLoader(set, spec, { batchSize: 32, shuffle: true, seed: 5, augment: false, withLabels: true }).epoch(0).next().value!;
});

/** A W2A2 student started from the teacher, calibrated on the batch. */
function student(): Classifier {
  const model = createModel('resnet20', { classes: 10, inChannels: 3, seed: 1 });
  const saved = loadCheckpoint(teacherPath).tensors;
  loadModelTensors(model, saved, { partial: true });
  for (const t of saved.values()) t.dispose();
  quantizeModel(model, { quantizer: 'ewgs', wBits: 2, aBits: 2 });
  calibrateQuantizers(model, batch.x);
  return model.train();
}

/** Runs `steps` steps of `loss` over `params`; returns the losses, checking no tensor outlives a step. */
function train(model: Classifier, loss: (inputs: LossInputs) => tf.Scalar, params: ReturnType<Classifier['namedParameters']>,
  labels: boolean, phase: Parameters<typeof createOptimizerGroups>[1]): number[] {
  const groups = createOptimizerGroups(params, phase);
  const stepBatch = { x: batch.x, labels: labels ? batch.labels : undefined, indices: batch.indices };
  const losses = [trainingStep(model, teacher, stepBatch, loss, groups.map((g) => g.optimizer))];
  const tensors = tf.memory().numTensors;
  for (let i = 1; i < STEPS; i++) losses.push(trainingStep(model, teacher, stepBatch, loss, groups.map((g) => g.optimizer)));
  expect(tf.memory().numTensors, 'tensors after the first step').toBe(tensors);
  disposeGroups(groups);
  return losses;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const runs = Object.values(METHODS).flatMap((m) => m.kind === 'objective' ? [{ method: m, labelFree: false }]
  : [{ method: m, labelFree: false }, ...(m.labelFree.possible ? [{ method: m, labelFree: true }] : [])]);

describe('a few training steps of every method', () => {
  for (const { method, labelFree } of runs) {
    it(`${method.name}${labelFree ? ' (label-free)' : ''}: the loss decreases, nothing leaks`, () => {
      const config = resolveTrainConfig({ dataset: 'synthetic', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, aBits: 2,
        method: method.name, teacher: teacherPath, labelFree: labelFree || undefined,
        methodOptions: method.options.negatives ? { negatives: 64 } : undefined });
      const model = student();
      const before = tf.memory().numTensors;
      const distiller = createDistiller(method, config.settings, model, teacher, [32, 32, 3], spec.load('', 'train').count, 7);
      const params = [...model.namedParameters(), ...(distiller?.namedParameters('distiller') ?? [])];
      const pre = distiller?.preStage;
      if (pre) {
        const trainable = pre.trains === 'student-features' ? featureParameters(model)
          : params.filter((p) => p.name.startsWith(`distiller.${(pre.trains as { distillerChild: string }).distillerChild}.`));
        const preLosses = train(model, (i) => pre.loss({ student: i.student, teacher: i.teacher!, indices: i.indices! }),
          trainable, false, config.phase);
        expect(mean(preLosses.slice(-2)), `pre-stage ${preLosses.map((l) => l.toFixed(4))}`).toBeLessThan(mean(preLosses.slice(0, 2)));
      }
      const losses = train(model, (i) => trainingLoss(method, distiller, config.settings, i), params,
        readsLabels(method, config.settings), config.phase);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(mean(losses.slice(-2)), losses.map((l) => l.toFixed(4)).join(' ')).toBeLessThan(mean(losses.slice(0, 2)));
      distiller?.dispose();
      model.dispose();
      expect(tf.memory().numTensors, 'tensors after disposing the run').toBeLessThanOrEqual(before);
    });
  }
});
