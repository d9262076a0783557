// The loss a training step minimises, and its weighted terms (cross-entropy, KL to the teacher, a feature method's
// loss), each already times its weight so that they add up to the total. Objectives give their loss whole; feature
// methods add their own loss (times beta) to cross-entropy on the labels (the paper's setting, CE weight gamma = 1)
// or, label-free, to nothing but an optional KL to the teacher (alpha > 0).
import * as tf from '@tensorflow/tfjs-core';

import type { FeatureDistiller } from './distiller.ts';
import { crossEntropy } from './losses/crossEntropy.ts';
import { temperedKl } from './losses/kl.ts';
import { type LossInputs, type MethodSettings, requireLabels, requireTeacher, type TrainingMethod } from './method.ts';

export const LOSS_TERMS = ['ce', 'kl', 'feature'] as const;
export type LossTermName = (typeof LOSS_TERMS)[number];

/** A batch's loss and the weighted terms it is the sum of (a term the loss does not have is absent). */
export interface LossBreakdown {
  total: tf.Scalar;
  terms: Partial<Record<LossTermName, tf.Scalar>>;
}

/** The weight each term carries in the method's loss (0: the loss has no such term). */
export function lossWeights(method: TrainingMethod, settings: MethodSettings, hasFeatureLoss: boolean): Record<LossTermName, number> {
  if (method.kind === 'objective') {
    // ce's loss is plain cross-entropy (weight 1, whatever gamma says); kd's is gamma CE + alpha KL; sqakd's alpha KL.
    const ce = method.needsLabels ? (method.needsTeacher ? settings.gamma : 1) : 0;
    return { ce, kl: method.needsTeacher ? settings.alpha : 0, feature: 0 };
  }
  return { ce: settings.labelFree ? 0 : settings.gamma, kl: settings.alpha, feature: hasFeatureLoss ? settings.beta : 0 };
}

/**
 * The batch's sample indices for a method that declares it reads them (an error naming it when the batch has
 * none); an empty list for every other method, so none can come to depend on them unannounced.
 */
function distillerIndices(method: TrainingMethod, inputs: LossInputs): Int32Array {
  if (!method.needsIndices) return new Int32Array();
  if (!inputs.indices) throw new Error(`method ${method.name} needs the batch's sample indices but the batch carries none`);
  return inputs.indices;
}

/**
 * An objective's loss split into its terms. An objective reading only labels or only the teacher is one term; one
 * reading both (kd) has its cross-entropy part computed again from the same logits (a softmax over the batch's
 * logits, no forward pass) and its KL part as the rest, so the total stays exactly the objective's own.
 */
function objectiveTerms(method: TrainingMethod, settings: MethodSettings, inputs: LossInputs): LossBreakdown {
  return tf.tidy(() => {
    const total = method.loss!(inputs, settings);
    if (!method.needsTeacher) return { total, terms: { ce: total } };
    if (!method.needsLabels) return { total, terms: { kl: total } };
    const ce = crossEntropy(inputs.student.logits, requireLabels(inputs, method.name), settings.labelSmoothing)
      .mul(settings.gamma) as tf.Scalar;
    return { total, terms: { ce, kl: total.sub(ce) as tf.Scalar } };
  });
}

/** The total training loss for one batch, with its weighted terms. */
export function trainingLossTerms(method: TrainingMethod, distiller: FeatureDistiller | null, settings: MethodSettings,
  inputs: LossInputs): LossBreakdown {
  if (method.kind === 'objective') return objectiveTerms(method, settings, inputs);
  if (!distiller) throw new Error(`method ${method.name} needs its distiller`);
  return tf.tidy(() => {
    const teacher = requireTeacher(inputs, method.name);
    const terms: Partial<Record<LossTermName, tf.Scalar>> = {};
    if (!settings.labelFree) {
      terms.ce = crossEntropy(inputs.student.logits, requireLabels(inputs, method.name), settings.labelSmoothing)
        .mul(settings.gamma) as tf.Scalar;
    }
    if (settings.alpha > 0) terms.kl = temperedKl(teacher.logits, inputs.student.logits, settings.temperature).mul(settings.alpha) as tf.Scalar;
    if (distiller.usedInMainStage) {
      terms.feature = distiller.loss({ student: inputs.student, teacher, indices: distillerIndices(method, inputs) })
        .mul(settings.beta) as tf.Scalar;
    }
    const present = Object.values(terms);
    if (present.length === 0) {
      throw new Error(`method ${method.name} run label-free without KL has nothing to train on (add --alpha)`);
    }
    return { total: tf.addN(present) as tf.Scalar, terms };
  });
}

/** The total training loss for one batch. */
export function trainingLoss(method: TrainingMethod, distiller: FeatureDistiller | null, settings: MethodSettings,
  inputs: LossInputs): tf.Scalar {
  return tf.tidy(() => trainingLossTerms(method, distiller, settings, inputs).total);
}
