// A trained model as saved by the trainer: its checkpoint metadata, and how to rebuild the model from it.
import type * as tf from '@tensorflow/tfjs-core';

import type { NumericEnvironment } from '../engine/index.ts';

import type { LossTermName } from '../methods/trainingLoss.ts';
import type { Classifier } from '../models/classifier.ts';
import { quantizeModel } from '../models/quantize.ts';
import { createModel } from '../models/registry.ts';
import { type Checkpoint, loadCheckpoint, loadModelTensors } from './checkpoint.ts';
import type { QuantizerSummary } from './quantizerSummary.ts';
import type { EnvironmentChange } from './runEnvironment.ts';
import { quantizationSpec, type TrainConfig } from './trainConfig.ts';

/**
 * The epoch's training loss, mean per image, as the steps computed it: each term already times its weight, so
 * ce + kl + feature = total (a term the loss lacks is 0, and so is its weight). A pre-stage's loss is its own
 * (FSP's, FT's reconstruction), counted as `feature` with weight 1.
 */
export interface EpochLoss extends Record<LossTermName, number> {
  total: number;
  weights: Record<LossTermName, number>;
}

/** One line of log.jsonl (and of the history in result.json and the checkpoint). */
export interface EpochRecord {
  /** Present on the epochs of a method's pre-stage. */
  stage?: 'pre';
  epoch: number;
  /** The first optimizer's learning rate at the epoch's last step (learningRates has every optimizer's). */
  lr: number;
  /** The mean training loss (loss.total). */
  trainLoss: number;
  top1: number;
  top5: number;
  /** Training throughput of the epoch (evaluation excluded). */
  imagesPerSecond: number;
  /** Wall time of the epoch, evaluation included. */
  seconds: number;
  // The fields below are absent in records written before they were recorded.
  loss?: EpochLoss;
  /** Mean cross-entropy on the test labels after the epoch. */
  testLoss?: number;
  /**
   * Each optimizer's learning rate at the epoch's last step: `model` and `quantizer` (SPEC section 2), or `model`
   * alone where one optimizer trains everything.
   */
  learningRates?: Record<string, number>;
  /** Means of the learned quantizer parameters after the epoch (quantizerSummary.ts); absent where none are learned. */
  quantizers?: QuantizerSummary;
  /** Warnings about the run (a weak teacher), on the first record logged after they arose. */
  warnings?: string[];
}

export interface CheckpointMeta {
  format: 1;
  config: TrainConfig;
  /** What the model was built for. */
  input: { classes: number; channels: number; height: number; width: number };
  /** Main-stage epochs finished. */
  epochsDone: number;
  history: EpochRecord[];
  /** Pre-stage epochs (FSP, FT), finished before the main stage. */
  preHistory?: EpochRecord[];
  optimizerSteps: number[];
  preOptimizerSteps?: number[];
  teacherTop1: number | null;
  backend: string;
  /** EWGS deltas set from Hessian estimates (--ewgs-delta hessian), by quantizer path. */
  ewgsDeltas?: Record<string, number>;
  /** The numeric environment of the last epochs (absent in checkpoints written before it was recorded). */
  environment?: NumericEnvironment;
  environmentChanges?: EnvironmentChange[];
  /** When the run's first attempt started (ISO 8601; absent in checkpoints written before it was recorded). */
  startedAt?: string;
}

/** Builds the checkpoint's model (quantized as it was trained) and loads its weights. */
export function modelFromCheckpoint(checkpoint: Checkpoint<CheckpointMeta>, path: string): Classifier {
  const { config, input } = checkpoint.meta;
  const model = createModel(config.arch, { classes: input.classes, inChannels: input.channels, seed: config.seed });
  if (config.quantization) quantizeModel(model, quantizationSpec(config.quantization));
  loadModelTensors(model, checkpoint.tensors, { describe: path });
  return model;
}

/** Loads a saved model for evaluation or distillation; the checkpoint's tensors are freed once loaded. */
export function loadTrainedModel(path: string): { model: Classifier; meta: CheckpointMeta } {
  const checkpoint = loadCheckpoint<CheckpointMeta>(path);
  if (checkpoint.meta?.format !== 1 || !checkpoint.meta.config) throw new Error(`${path} is not a trained-model checkpoint`);
  try {
    return { model: modelFromCheckpoint(checkpoint, path), meta: checkpoint.meta };
  } finally {
    disposeTensors(checkpoint.tensors);
  }
}

export function disposeTensors(tensors: Map<string, tf.Tensor>): void {
  for (const t of tensors.values()) t.dispose();
}

/** One line naming what a checkpoint holds, for error messages. */
export function describeCheckpoint(meta: CheckpointMeta): string {
  const q = meta.config.quantization;
  return `a ${meta.config.arch} for ${meta.config.dataset}${q ? ` (${q.quantizer} W${q.wBits}A${q.aBits})` : ' (full precision)'}`;
}
