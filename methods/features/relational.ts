// Helpers for methods that compare how the samples of a batch relate to one another (SP, RKD, CC): per-sample
// flattening, pairwise differences and distances between the samples, and the smooth L1 loss.
import * as tf from '@tensorflow/tfjs-core';

/** Features [N, ...] as one flattened row per sample, [N, D]. */
export function flattenSamples(x: tf.Tensor): tf.Tensor2D {
  return x.reshape([x.shape[0], -1]);
}

/**
 * Differences between every ordered pair of rows of x [N, D]: entry [i, j] is x_j - x_i, [N, N, D]; exactly zero
 * on the diagonal.
 */
export function pairwiseDifferences(x: tf.Tensor2D): tf.Tensor3D {
  const [n, d] = x.shape;
  return x.reshape([1, n, d]).sub(x.reshape([n, 1, d]));
}

/** Squared Euclidean distances between the rows of x [N, D], [N, N]; exactly zero on the diagonal. */
export function pairwiseSquaredDistances(x: tf.Tensor2D): tf.Tensor2D {
  return pairwiseDifferences(x).square().sum(2);
}

/**
 * Euclidean distances between the rows of x [N, D], [N, N]: sqrt(max(d^2, eps)) off the diagonal (the clamp keeps
 * the gradient finite for coinciding samples) and 0 on it.
 */
export function pairwiseDistances(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  const offDiagonal = tf.sub(1, tf.eye(x.shape[0]));
  return pairwiseSquaredDistances(x).maximum(eps).sqrt().mul(offDiagonal);
}

/**
 * Mean smooth L1 loss between two tensors of one shape: Huber with delta 1 (PyTorch's F.smooth_l1_loss, beta 1),
 * 0.5 d^2 where |d| < 1 and |d| - 0.5 elsewhere, averaged over every element.
 */
export function smoothL1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const absolute = a.sub(b).abs();
  const quadratic = absolute.minimum(1);
  return quadratic.square().mul(0.5).add(absolute.sub(quadratic)).mean();
}
