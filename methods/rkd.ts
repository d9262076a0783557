// Relational knowledge distillation (SPEC section 3: taps[-1], beta 1) on the pooled feature vectors of a batch,
// with both of the paper's relations:
// - distance-wise: the Euclidean distance of every pair of samples divided by the mean distance over the distinct
//   pairs (i != j), psi_D(i, j) = |x_i - x_j| / mu; loss = mean over all N^2 ordered pairs of smooth L1 (Huber,
//   delta 1) between the student's and the teacher's psi_D (the diagonal is 0 in both);
// - angle-wise: for every triplet the cosine of the angle at x_i between x_j and x_k,
//   psi_A(i, j, k) = <unit(x_j - x_i), unit(x_k - x_i)>; loss = mean over all N^3 triplets of smooth L1 between the
//   two (the degenerate triplets, j = i or k = i, are 0 in both).
// loss = distanceWeight * distance-wise + angleWeight * angle-wise (25 and 50, the paper code's weights). Averaging
// over all N^2 / N^3 entries rather than only the distinct ones is the paper code's convention (a constant factor).
// Only relations between samples are compared, so the student's and teacher's vector sizes need not match.
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { flattenSamples, pairwiseDifferences, pairwiseDistances, smoothL1 } from './features/relational.ts';
import { l2Normalize } from './features/spatial.ts';
import { tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** Distances between the rows of x [N, D] over their mean over the distinct pairs, [N, N] (0 on the diagonal). */
export function normalizedDistances(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const distances = pairwiseDistances(x);
    // A batch of one has no pair; the clamp then leaves an all-zero matrix instead of 0 / 0.
    const mean = distances.sum().div(Math.max(n * (n - 1), 1)).maximum(1e-12);
    return distances.div(mean);
  });
}

/**
 * Cosines of the angles of all triplets of rows of x [N, D]: [N, N, N], entry [i, j, k] = <unit(x_j - x_i),
 * unit(x_k - x_i)>, the angle at x_i (0 where j = i or k = i: the zero difference normalises to 0).
 */
export function tripletAngles(x: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, d] = x.shape;
    const directions = l2Normalize(pairwiseDifferences(x).reshape([n * n, d])).reshape([n, n, d]) as tf.Tensor3D;
    return tf.matMul(directions, directions, false, true);
  });
}

class RelationalDistiller extends FeatureDistiller {
  constructor(private readonly taps: number[], private readonly distanceWeight: number,
    private readonly angleWeight: number) {
    super();
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => tf.addN(this.taps.map((i) => {
      const s = flattenSamples(student.features[i]);
      const t = flattenSamples(teacher.features[i]);
      const terms: tf.Scalar[] = [];
      if (this.distanceWeight > 0) {
        terms.push(smoothL1(normalizedDistances(s), normalizedDistances(t)).mul(this.distanceWeight));
      }
      if (this.angleWeight > 0) terms.push(smoothL1(tripletAngles(s), tripletAngles(t)).mul(this.angleWeight));
      return tf.addN(terms);
    })) as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('rkd', tapNames, -1);

const DEFAULTS = { distanceWeight: 25, angleWeight: 50 };

export const rkd = featureMethod({
  name: 'rkd',
  description: 'matches the mean-normalised pairwise distances (x25) and triplet angles (x50) of the pooled vectors',
  reference: 'Park, Kim, Lu & Cho, Relational Knowledge Distillation, CVPR 2019',
  transfers: 'the geometry of the batch in feature space (pairwise distances and triplet angles)',
  beta: 1,
  options: DEFAULTS,
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    for (const i of read) tapShapes('rkd', setup, i);
    const { distanceWeight, angleWeight } = setup.options;
    for (const [name, value] of Object.entries({ distanceWeight, angleWeight })) {
      if (!Number.isFinite(value) || value < 0) throw new Error(`method rkd option ${name} must be >= 0, got ${value}`);
    }
    if (distanceWeight === 0 && angleWeight === 0) {
      throw new Error('method rkd has distanceWeight and angleWeight both 0: nothing to distil');
    }
    return new RelationalDistiller(read, distanceWeight, angleWeight);
  },
});
