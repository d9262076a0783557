// What a training method is: a loss over the student's (and the teacher's) outputs, and what it needs to compute
// it. The trainer gives a method labels only if it declares it needs them.
import type * as tf from '@tensorflow/tfjs-core';

import type { ClassifierOutput } from '../models/classifier.ts';

export interface MethodSettings {
  /** Weight of the KL term (SPEC section 1; 1 by default, 10-800 in some recipes). */
  alpha: number;
  /** Weight of the cross-entropy term in classic KD. */
  gamma: number;
  /** Softmax temperature of the KL term. */
  temperature: number;
  labelSmoothing: number;
}

export const DEFAULT_METHOD_SETTINGS: MethodSettings = { alpha: 1, gamma: 1, temperature: 4, labelSmoothing: 0 };

export interface LossInputs {
  student: ClassifierOutput;
  /** The frozen teacher's outputs, for methods that distil. */
  teacher?: ClassifierOutput;
  /** Present only for methods with needsLabels. */
  labels?: tf.Tensor1D;
}

export interface TrainingMethod {
  name: string;
  description: string;
  reference: string;
  needsLabels: boolean;
  needsTeacher: boolean;
  loss(inputs: LossInputs, settings: MethodSettings): tf.Scalar;
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
