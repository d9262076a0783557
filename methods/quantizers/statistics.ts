// Per-tensor or per-channel statistics of a calibration tensor (over axis 0 of a [-1, channels] view).
import * as tf from '@tensorflow/tfjs-core';

/** Axes to reduce: all for per-tensor, the rows of a [-1, channels] view for per-channel. */
function axes(perChannel: boolean): number[] | undefined {
  return perChannel ? [0] : undefined;
}

/**
 * Sample standard deviation (divisor n - 1, PyTorch's torch.std default, which every std() of the public code
 * is; SPEC section 2). A single value has std 0 here rather than PyTorch's NaN.
 */
export function std(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  const n = perChannel ? x.shape[0] : x.size;
  return tf.tidy(() => tf.moments(x, axes(perChannel)).variance.mul(n / Math.max(n - 1, 1)).sqrt());
}

/** Minimum, per tensor or per channel. */
export function min(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.min(x, axes(perChannel));
}

/** Mean absolute value, per tensor or per channel. */
export function meanAbs(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.abs(x), axes(perChannel)));
}
