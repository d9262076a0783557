// Per-tensor or per-channel statistics of a calibration tensor (over axis 0 of a [-1, channels] view).
import * as tf from '@tensorflow/tfjs-core';

/** Axes to reduce: all for per-tensor, the rows of a [-1, channels] view for per-channel. */
function axes(perChannel: boolean): number[] | undefined {
  return perChannel ? [0] : undefined;
}

/** Population standard deviation. */
export function std(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => tf.moments(x, axes(perChannel)).variance.sqrt());
}

export function min(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.min(x, axes(perChannel));
}

export function meanAbs(x: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.abs(x), axes(perChannel)));
}
