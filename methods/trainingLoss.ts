// The loss a training step minimises. Objectives give it whole. Feature methods add their own loss (times beta)
// to cross-entropy on the labels (the paper's setting, CE weight gamma = 1) or, label-free, to nothing but an
// optional KL to the teacher (alpha > 0).
import * as tf from '@tensorflow/tfjs-core';

import type { FeatureDistiller } from './distiller.ts';
import { crossEntropy } from './losses/crossEntropy.ts';
import { temperedKl } from './losses/kl.ts';
import { type LossInputs, type MethodSettings, requireLabels, requireTeacher, type TrainingMethod } from './method.ts';

/**
 * The batch's sample indices for a method that declares it reads them (an error naming it when the batch has
 * none); an empty list for every other method, so none can come to depend on them unannounced.
 */
function distillerIndices(method: TrainingMethod, inputs: LossInputs): Int32Array {
  if (!method.needsIndices) return new Int32Array();
  if (!inputs.indices) throw new Error(`method ${method.name} needs the batch's sample indices but the batch carries none`);
  return inputs.indices;
}

/** The total training loss for one batch. */
export function trainingLoss(method: TrainingMethod, distiller: FeatureDistiller | null, settings: MethodSettings,
  inputs: LossInputs): tf.Scalar {
  if (method.kind === 'objective') return method.loss!(inputs, settings);
  if (!distiller) throw new Error(`method ${method.name} needs its distiller`);
  return tf.tidy(() => {
    const teacher = requireTeacher(inputs, method.name);
    const terms: tf.Tensor[] = [];
    if (!settings.labelFree) {
      terms.push(crossEntropy(inputs.student.logits, requireLabels(inputs, method.name), settings.labelSmoothing).mul(settings.gamma));
    }
    if (settings.alpha > 0) terms.push(temperedKl(teacher.logits, inputs.student.logits, settings.temperature).mul(settings.alpha));
    if (distiller.usedInMainStage) {
      terms.push(distiller.loss({ student: inputs.student, teacher, indices: distillerIndices(method, inputs) }).mul(settings.beta));
    }
    if (terms.length === 0) {
      throw new Error(`method ${method.name} run label-free without KL has nothing to train on (add --alpha)`);
    }
    return tf.addN(terms) as tf.Scalar;
  });
}
