// Access to the addon's direct-ATen conv step, the reference the engine benchmark compares the backend against.
import * as tf from '@tensorflow/tfjs-core';

import { LIBTORCH_BACKEND, type LibtorchBackend } from './backend.ts';
import { convGeometry } from './kernels/convolution.ts';

/** Whether the active backend is libtorch (so a direct-ATen comparison exists). */
export function onLibtorch(): boolean {
  return tf.getBackend() === LIBTORCH_BACKEND;
}

/**
 * Milliseconds for `iterations` conv training steps (forward, input gradient, filter gradient) made directly from
 * C++ with the same ATen calls the kernels make, on the same tensors; stride 1, 'same' padding, NHWC.
 */
export function directConvStepMs(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, iterations: number): number {
  const backend = tf.backend() as LibtorchBackend;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, 'same');
  return backend.addon.directConvStep(backend.handle(x), backend.handle(filter), backend.handle(dy), convGeometry(info),
    iterations);
}
