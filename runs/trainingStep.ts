// One optimisation step: the frozen teacher's forward pass (outside the gradient tape), the student's forward
// and backward through the method's loss, and every optimizer's update. The trainer and `sqakd bench step` both
// run this.
import * as tf from '@tensorflow/tfjs-core';

import type { MethodSettings, TrainingMethod } from '../methods/method.ts';
import type { Classifier, ClassifierOutput } from '../models/classifier.ts';
import type { Optimizer } from './optim/optimizer.ts';

export interface StepInputs {
  x: tf.Tensor4D;
  /** Only for methods that need labels. */
  labels?: tf.Tensor1D;
}

export interface StepModels {
  student: Classifier;
  teacher: Classifier | null;
  method: TrainingMethod;
  settings: MethodSettings;
  optimizers: Optimizer[];
}

/** Runs one step and returns the loss (a JS number, which also waits for the device to finish). */
export function trainingStep(models: StepModels, batch: StepInputs): number {
  const { student, teacher, method, settings, optimizers } = models;
  // (tidy keeps tensors inside any returned container; tfjs's types just do not know ClassifierOutput is one.)
  const teacherOutput = teacher
    ? tf.tidy(() => teacher.forwardWithFeatures(batch.x) as unknown as tf.TensorContainer) as unknown as ClassifierOutput
    : undefined;
  const variables = optimizers.flatMap((o) => o.variables());
  const { value, grads } = tf.variableGrads(() => method.loss({
    student: student.forwardWithFeatures(batch.x),
    teacher: teacherOutput,
    labels: method.needsLabels ? batch.labels : undefined,
  }, settings), variables);
  for (const optimizer of optimizers) optimizer.apply(grads);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  if (teacherOutput) tf.dispose([teacherOutput.logits, ...teacherOutput.features]);
  return loss;
}
