// Cross-entropy with integer labels, mean over the batch, with optional label smoothing (SPEC section 4: 0.1 for
// the Tiny-ImageNet CE runs).
import * as tf from '@tensorflow/tfjs-core';

/** mean_i -sum_c target_ic * log softmax(z_i)_c, target = (1 - eps) one-hot + eps / C. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const target = tf.oneHot(labels.toInt(), classes).toFloat().mul(1 - labelSmoothing).add(labelSmoothing / classes);
    return tf.logSoftmax(logits).mul(target).sum(1).mean().neg() as tf.Scalar;
  });
}
