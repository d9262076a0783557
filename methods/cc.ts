// Correlation congruence (SPEC section 3: taps[-1], beta 0.02). The student's and the teacher's pooled vectors are
// each mapped by a trainable linear embedding to `dim` (128) values, not normalised: e_s, e_t [N, dim] (the
// distiller's children 'embedStudent' and 'embedTeacher', trained with the model's optimizer). Two formulations,
// chosen by the option `kernel`:
// - 0 (default), the formulation in the public code that the SQAKD paper runs (RepDistiller's "Correlation"):
//   delta_i = |e_s,i - e_t,i| per sample, loss = mean over i = 1..N-1 of sum_d delta_i,d * delta_(i+1),d, i.e.
//   products of the deviations of consecutive samples in the batch (0 for a batch of one);
// - 1, the CC paper's correlation congruence with the Gaussian RBF kernel, computed exactly (the paper's own
//   experiments use a Taylor approximation of it): C_ij = exp(-gamma * |e_i - e_j|^2) over the batch for each
//   model, loss = mean over i, j of (C_s - C_t)_ij^2 (gamma: option `gamma`, 0.4). Unnormalised embeddings make it
//   scale-sensitive: with |e_i - e_j|^2 in the tens every C_ij off the diagonal is ~0, so gamma may need tuning.
// Reports should say which formulation ran (the option's value).
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { Embedding } from './features/embedding.ts';
import { pairwiseSquaredDistances } from './features/relational.ts';
import { tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** Formulation 0: mean over consecutive samples of sum_d |e_s - e_t|_i,d * |e_s - e_t|_(i+1),d. */
export function consecutiveDeviationLoss(es: tf.Tensor2D, et: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = es.shape;
    const delta = es.sub(et).abs();
    // No consecutive pair in a batch of one: zero, still connected to the embeddings.
    if (n < 2) return delta.sum().mul(0) as tf.Scalar;
    return delta.slice([0, 0], [n - 1, d]).mul(delta.slice([1, 0], [n - 1, d])).sum(1).mean() as tf.Scalar;
  });
}

/** The batch's Gaussian RBF correlation matrix of the rows of e [N, D]: C_ij = exp(-gamma |e_i - e_j|^2). */
export function rbfCorrelation(e: tf.Tensor2D, gamma: number): tf.Tensor2D {
  return tf.tidy(() => pairwiseSquaredDistances(e).mul(-gamma).exp() as tf.Tensor2D);
}

class CorrelationDistiller extends FeatureDistiller {
  constructor(private readonly tap: number, student: number[], teacher: number[], dim: number,
    private readonly kernel: number, private readonly gamma: number) {
    super();
    this.registerModule('embedStudent', new Embedding(student, dim, false));
    this.registerModule('embedTeacher', new Embedding(teacher, dim, false));
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => {
      const es = this.child<Embedding>('embedStudent').forward(student.features[this.tap]);
      const et = this.child<Embedding>('embedTeacher').forward(teacher.features[this.tap]);
      if (this.kernel === 0) return consecutiveDeviationLoss(es, et);
      return rbfCorrelation(es, this.gamma).sub(rbfCorrelation(et, this.gamma)).square().mean() as tf.Scalar;
    });
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('cc', tapNames, -1);

const DEFAULTS = { kernel: 0, gamma: 0.4, dim: 128 };

export const cc = featureMethod({
  name: 'cc',
  description: 'matches sample correlations of 128-d linear embeddings of the pooled vectors (kernel 0: the paper ' +
    'code\'s consecutive-sample form; 1: Gaussian RBF correlation matrices)',
  reference: 'Peng, Jin, Liu, Li, Wu, Liu, Zhou & Zhang, Correlation Congruence for Knowledge Distillation, ICCV 2019',
  transfers: 'correlations between the samples of a batch (instance relations), besides the instances themselves',
  beta: 0.02,
  options: DEFAULTS,
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const [i] = taps(setup.tapNames);
    const { tap, student, teacher } = tapShapes('cc', setup, i);
    if (![1, 3].includes(student.length) || ![1, 3].includes(teacher.length)) {
      throw new Error(`method cc embeds a feature vector [C] or map [H, W, C], but tap ${tap} is [${student}] ` +
        `(student) / [${teacher}] (teacher)`);
    }
    const { kernel, gamma, dim } = setup.options;
    if (kernel !== 0 && kernel !== 1) {
      throw new Error(`method cc option kernel must be 0 (the paper code's formulation) or 1 (Gaussian RBF), ` +
        `got ${kernel}`);
    }
    if (!(gamma > 0) || !Number.isFinite(gamma)) {
      throw new Error(`method cc option gamma must be > 0, got ${gamma}`);
    }
    if (!Number.isInteger(dim) || dim < 1) {
      throw new Error(`method cc option dim must be a positive integer, got ${dim}`);
    }
    return new CorrelationDistiller(i, student, teacher, dim, kernel, gamma);
  },
});
