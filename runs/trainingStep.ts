// One optimisation step: the frozen teacher's forward pass (outside the gradient tape), the student's forward and
// backward through a loss over both models' outputs, and every optimizer's update. The trainer (main and
// pre-stages) and `sqakd bench step` all run this.
import * as tf from '@tensorflow/tfjs-core';

import type { LossInputs } from '../methods/method.ts';
import type { LossBreakdown, LossTermName } from '../methods/trainingLoss.ts';
import type { Classifier, ClassifierOutput } from '../models/classifier.ts';
import type { Optimizer } from './optim/optimizer.ts';

export interface StepBatch {
  x: tf.Tensor4D;
  /** Only when the loss reads labels. */
  labels?: tf.Tensor1D;
  indices?: Int32Array;
}

/**
 * The engine scopes a step's kernels run in, in order (for `bench step --profile`): the teacher's forward pass, the
 * student's forward pass and loss ('forward', tfjs's tape), its backward pass ('backward'), the finiteness check and
 * the optimizers' updates.
 */
export const STEP_PHASES = ['teacher', 'forward', 'backward', 'check', 'optimizer'] as const;

/** A step whose gradients hold NaN or an infinity; the update was not applied. */
export class NonFiniteGradientError extends Error {}

/** A step's loss: a scalar, or a scalar with the weighted terms it is the sum of. */
export type StepLoss = (inputs: LossInputs) => tf.Scalar | LossBreakdown;

export interface StepOutcome {
  loss: number;
  /** The loss's weighted terms as the step computed them (empty for a loss given as a bare scalar). */
  terms: Partial<Record<LossTermName, number>>;
}

/**
 * Runs one step of `loss` and returns its value and terms (JS numbers, read in one read-back, which also waits for
 * the device to finish). Gradients are checked before any update, so a non-finite one stops the step with the
 * parameters still finite.
 */
export function trainingStepWithTerms(student: Classifier, teacher: Classifier | null, batch: StepBatch,
  loss: StepLoss, optimizers: Optimizer[]): StepOutcome {
  // (tidy keeps tensors inside any returned container; tfjs's types just do not know ClassifierOutput is one.)
  const teacherOutput = teacher
    ? tf.tidy('teacher', () => teacher.forwardWithFeatures(batch.x) as unknown as tf.TensorContainer) as unknown as ClassifierOutput
    : undefined;
  const variables = optimizers.flatMap((o) => o.variables());
  // The terms are tensors of the same forward pass as the total; kept past the gradient scope's tidy to be read
  // with it.
  let terms: Array<[LossTermName, tf.Scalar]> = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = loss({
      student: student.forwardWithFeatures(batch.x), teacher: teacherOutput, labels: batch.labels, indices: batch.indices,
    });
    if (out instanceof tf.Tensor) return out;
    terms = (Object.entries(out.terms) as Array<[LossTermName, tf.Scalar]>).map(([name, t]) => [name, tf.keep(t)]);
    return out.total;
  }, variables);
  // One sum over every gradient: NaN or an infinity anywhere makes it non-finite; one read-back for it, the loss
  // and its terms.
  const gradients = Object.values(grads);
  const check = tf.tidy('check', () => tf.stack([value, gradients.length ? tf.addN(gradients.map((g) => g.sum())) : tf.scalar(0),
    ...terms.map(([, t]) => t)]));
  const [result, gradientSum, ...termValues] = check.dataSync();
  check.dispose();
  // A non-finite loss is returned for the caller to report; either way the parameters are left as they were.
  if (Number.isFinite(result) && Number.isFinite(gradientSum)) {
    tf.tidy('optimizer', () => { for (const optimizer of optimizers) optimizer.apply(grads); });
  }
  // A one-term loss's term is its total: each tensor is disposed once.
  tf.dispose([...new Set([value, ...terms.map(([, t]) => t), ...gradients])]);
  if (teacherOutput) tf.dispose([teacherOutput.logits, ...teacherOutput.features]);
  if (Number.isFinite(result) && !Number.isFinite(gradientSum)) {
    throw new NonFiniteGradientError(`the gradients hold NaN or an infinity (loss ${result})`);
  }
  return { loss: result, terms: Object.fromEntries(terms.map(([name], i) => [name, termValues[i]])) };
}

/** Runs one step of `loss` and returns its value (see trainingStepWithTerms). */
export function trainingStep(student: Classifier, teacher: Classifier | null, batch: StepBatch,
  loss: (inputs: LossInputs) => tf.Scalar, optimizers: Optimizer[]): number {
  return trainingStepWithTerms(student, teacher, batch, loss, optimizers).loss;
}
