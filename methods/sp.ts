// Similarity-preserving distillation (SPEC section 3: taps[-2], beta 3000). Each sample's features are flattened;
// the batch's similarity matrix is G = F F^T [N, N], each row L2-normalised. The loss is
//   sum_ij (G_s - G_t)_ij^2 / N^2,
// the squared Frobenius distance over N^2. Only the batch's pairwise similarities are compared, so the student's
// and teacher's feature sizes need not match.
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { flattenSamples } from './features/relational.ts';
import { l2Normalize } from './features/spatial.ts';
import { tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** The batch's similarity matrix: F F^T of the flattened per-sample features, rows L2-normalised, [N, N]. */
export function similarityMatrix(features: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const f = flattenSamples(features);
    return l2Normalize(tf.matMul(f, f, false, true));
  });
}

class SimilarityDistiller extends FeatureDistiller {
  constructor(private readonly taps: number[]) {
    super();
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => tf.addN(this.taps.map((i) => {
      const n = student.features[i].shape[0];
      return similarityMatrix(student.features[i]).sub(similarityMatrix(teacher.features[i])).square().sum().div(n * n);
    })) as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('sp', tapNames, -2, -1);

export const sp = featureMethod({
  name: 'sp',
  description: 'matches the batch\'s row-normalised sample-similarity matrix (F F^T) of the last stage',
  reference: 'Tung & Mori, Similarity-Preserving Knowledge Distillation, ICCV 2019',
  transfers: 'which samples of a batch the network finds alike (pairwise activation similarities)',
  beta: 3000,
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    for (const i of read) tapShapes('sp', setup, i);
    return new SimilarityDistiller(read);
  },
});
