// What a training method is. Objectives (ce, kd, sqakd) are a loss over logits; feature methods (AT, CRD, ...)
// build a distiller for the run: a module with their trainable heads and state, and their loss over feature taps.
// Every method declares what it needs (teacher, labels, sample indices) so the trainer gives it nothing else.
import type * as tf from '@tensorflow/tfjs-core';

import type { ClassifierOutput } from '../models/classifier.ts';
import type { DistillerSetup, FeatureDistiller } from './distiller.ts';

export interface MethodSettings {
  /** Weight of the KL term (SPEC section 1: 1 by default, 10-800 in some recipes; 0 for feature methods). */
  alpha: number;
  /** Weight of the cross-entropy term (classic KD, and feature methods with CE: 1). */
  gamma: number;
  /** Weight of a feature method's own loss (SPEC section 3's beta). */
  beta: number;
  /** Softmax temperature of the KL term. */
  temperature: number;
  labelSmoothing: number;
  /** Feature methods: drop the cross-entropy term, so no label is read at all. */
  labelFree: boolean;
  /** Epochs of a pre-stage (FSP, FT; 30 in the paper's code). */
  preEpochs: number;
  /** Method-specific settings (e.g. CRD's number of negatives), the method's defaults overridden. */
  options: Record<string, number>;
}

export const DEFAULT_METHOD_SETTINGS: MethodSettings = {
  alpha: 1, gamma: 1, beta: 0, temperature: 4, labelSmoothing: 0, labelFree: false, preEpochs: 0, options: {},
};

export interface LossInputs {
  student: ClassifierOutput;
  /** The frozen teacher's outputs, for methods that distil. */
  teacher?: ClassifierOutput;
  /** Present only when the method, in this variant, reads labels. */
  labels?: tf.Tensor1D;
  /** Dataset indices of the batch's samples (CRD's memory bank). */
  indices?: Int32Array;
}

export type LabelFree = { possible: true } | { possible: false; reason: string };

export interface TrainingMethod {
  name: string;
  description: string;
  reference: string;
  /** What knowledge it transfers, for reports. */
  transfers: string;
  kind: 'objective' | 'feature';
  needsTeacher: boolean;
  /** Objectives: whether they read labels. Feature methods read them unless run label-free. */
  needsLabels: boolean;
  /** Whether a label-free variant exists, and why not when it does not. */
  labelFree: LabelFree;
  /** Whether its loss reads the batch's dataset indices (memory banks); others are handed none. */
  needsIndices: boolean;
  /** The feature loss's weight in the paper's code (0 for objectives). */
  beta: number;
  /** Method-specific options with their defaults. */
  options: Record<string, number>;
  /** Default pre-stage epochs (FSP, FT); 0 for none. */
  preEpochs: number;
  /** Indices of the model taps it reads; a one-line error if the model lacks them. */
  tapsRead(tapNames: readonly string[]): number[];
  /** Objectives: the loss. */
  loss?(inputs: LossInputs, settings: MethodSettings): tf.Scalar;
  /** Feature methods: the run's distiller. */
  createDistiller?(setup: DistillerSetup): FeatureDistiller;
}

/** Whether the method reads labels with these settings. */
export function readsLabels(method: TrainingMethod, settings: MethodSettings): boolean {
  return method.kind === 'objective' ? method.needsLabels : !settings.labelFree;
}

/** The labels of a batch, or an error naming the method that wrongly asked for them. */
export function requireLabels(inputs: LossInputs, method: string): tf.Tensor1D {
  if (!inputs.labels) throw new Error(`method ${method} needs labels but the batch carries none`);
  return inputs.labels;
}

/** The teacher's outputs, or an error naming the method. */
export function requireTeacher(inputs: LossInputs, method: string): ClassifierOutput {
  if (!inputs.teacher) throw new Error(`method ${method} distils from a teacher; pass --teacher <checkpoint>`);
  return inputs.teacher;
}

/** No taps (objectives read logits only). */
export const noTaps = (): number[] => [];

/**
 * Tap indices by Python-style slice of the tap list (SPEC section 3 writes taps[1:-1], taps[-2], ...); a one-line
 * error when the model has too few taps for the slice to hold anything.
 */
export function tapSlice(method: string, tapNames: readonly string[], start: number, end?: number): number[] {
  const n = tapNames.length;
  const from = start < 0 ? n + start : start;
  const to = end === undefined ? n : end < 0 ? n + end : end;
  const picked = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i).filter((i) => i >= 0 && i < n);
  if (picked.length === 0) {
    throw new Error(`method ${method} reads taps [${start}:${end ?? ''}] but the architecture has taps ` +
      `${tapNames.join(', ')}`);
  }
  return picked;
}

/** A 0/1 method option as a boolean; any other value is a one-line error naming the method and the option. */
export function optionFlag(method: string, options: Record<string, number>, name: string): boolean {
  const v = options[name];
  if (v !== 0 && v !== 1) throw new Error(`method ${method}: option ${name} must be 0 or 1, got ${v}`);
  return v === 1;
}

type ObjectiveEntry = Pick<TrainingMethod, 'name' | 'description' | 'reference' | 'transfers' | 'needsLabels' |
  'needsTeacher' | 'labelFree' | 'loss'>;

/** A registry entry for an objective (a loss over logits, no feature taps). */
export function objective(entry: ObjectiveEntry): TrainingMethod {
  return { ...entry, kind: 'objective', needsIndices: false, beta: 0, options: {}, preEpochs: 0, tapsRead: noTaps };
}

type FeatureEntry = Pick<TrainingMethod, 'name' | 'description' | 'reference' | 'transfers' | 'beta' | 'tapsRead'> &
  Required<Pick<TrainingMethod, 'createDistiller'>> &
  Partial<Pick<TrainingMethod, 'labelFree' | 'needsIndices' | 'options' | 'preEpochs'>>;

/**
 * A registry entry for a feature method: distils from a teacher, reads labels unless run label-free. Its distiller
 * sees the entry's option defaults under whatever options the setup gives (none at all included), so no method
 * file has to repeat its defaults.
 */
export function featureMethod(entry: FeatureEntry): TrainingMethod {
  const defaults = entry.options ?? {};
  const build = entry.createDistiller;
  return {
    labelFree: { possible: true }, needsIndices: false, options: {}, preEpochs: 0, ...entry,
    kind: 'feature', needsTeacher: true, needsLabels: true,
    createDistiller: (setup) => build({ ...setup, options: { ...defaults, ...setup.options } }),
  };
}
