// A small CNN written directly in tfjs ops (conv, batch norm, ReLU, max pool, dense) to exercise the engine the way
// a training step does. Weights are drawn from a seeded PRNG so every backend starts from the same values.
import * as tf from '@tensorflow/tfjs-core';

import { batchNormTraining } from '../../../engine/index.ts';
import type { ImageSet } from '../../../datasets/imageSet.ts';
import { randomValues, seededNormal } from '../../support/random.ts';

const EPSILON = 1e-5;
const MOMENTUM = 0.1;

interface BatchNormState {
  scale: tf.Variable;
  offset: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
}

export interface SmallCnn {
  trainable: tf.Variable[];
  /** Logits for NHWC images; in training mode batch norm uses batch statistics and updates its running ones. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  dispose(): void;
}

function heNormal(shape: number[], fanIn: number, next: () => number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.variable(tf.tensor(randomValues(n, next, Math.sqrt(2 / fanIn)), shape));
}

function batchNormState(channels: number): BatchNormState {
  return {
    scale: tf.variable(tf.ones([channels])),
    offset: tf.variable(tf.zeros([channels])),
    runningMean: tf.variable(tf.zeros([channels]), false),
    runningVar: tf.variable(tf.ones([channels]), false),
  };
}

function batchNorm(x: tf.Tensor4D, s: BatchNormState, training: boolean): tf.Tensor4D {
  if (!training) return tf.batchNorm(x, s.runningMean, s.runningVar, s.offset, s.scale, EPSILON) as tf.Tensor4D;
  const { y, mean, invStd } = batchNormTraining(x, s.scale, s.offset, EPSILON);
  const count = x.size / x.shape[3];
  // Running variance is the unbiased batch variance, as in PyTorch's BatchNorm2d.
  const variance = tf.tidy(() => invStd.square().reciprocal().sub(EPSILON).mul(count / (count - 1)));
  s.runningMean.assign(tf.tidy(() => s.runningMean.mul(1 - MOMENTUM).add(mean.mul(MOMENTUM))));
  s.runningVar.assign(tf.tidy(() => s.runningVar.mul(1 - MOMENTUM).add(variance.mul(MOMENTUM))));
  return y as tf.Tensor4D;
}

/** conv3x3(1->16)-BN-ReLU-maxpool, conv3x3(16->32)-BN-ReLU-maxpool, dense to 10 classes; for 28x28x1 input. */
export function createSmallCnn(seed: number): SmallCnn {
  const next = seededNormal(seed);
  const conv1 = heNormal([3, 3, 1, 16], 9, next);
  const conv2 = heNormal([3, 3, 16, 32], 144, next);
  const dense = heNormal([7 * 7 * 32, 10], 2 * 7 * 7 * 32, next); // LeCun-normal: std sqrt(1 / fanIn)
  const bias = tf.variable(tf.zeros([10]));
  const bn1 = batchNormState(16);
  const bn2 = batchNormState(32);
  const block = (x: tf.Tensor4D, w: tf.Variable, bn: BatchNormState, training: boolean) =>
    tf.maxPool(tf.relu(batchNorm(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'), bn, training)), 2, 2, 'valid');
  return {
    trainable: [conv1, bn1.scale, bn1.offset, conv2, bn2.scale, bn2.offset, dense, bias],
    forward(x, training) {
      const h = block(block(x, conv1, bn1, training), conv2, bn2, training);
      return tf.matMul(h.reshape([x.shape[0], 7 * 7 * 32]), dense as tf.Tensor2D).add(bias) as tf.Tensor2D;
    },
    dispose() {
      for (const v of [conv1, conv2, dense, bias, ...Object.values(bn1), ...Object.values(bn2)]) v.dispose();
    },
  };
}

/** A normalised NHWC float batch and its one-hot labels, for the images at `indices`. */
export function mnistBatch(set: ImageSet, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const pixels = set.height * set.width;
  const values = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const offset = indices[i] * pixels;
    for (let p = 0; p < pixels; p++) values[i * pixels + p] = (set.images[offset + p] / 255 - 0.1307) / 0.3081;
    labels[i] = set.labels[indices[i]];
  }
  return {
    x: tf.tensor4d(values, [indices.length, set.height, set.width, 1]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat()) as tf.Tensor2D,
  };
}

/** One optimizer step on a batch; returns the loss. */
export function trainStep(model: SmallCnn, optimizer: tf.Optimizer, x: tf.Tensor4D, y: tf.Tensor2D): number {
  const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.forward(x, true)) as tf.Scalar,
    true, model.trainable);
  const loss = cost!.dataSync()[0];
  cost!.dispose();
  return loss;
}

/** Top-1 accuracy on a whole split, in batches, with running batch-norm statistics. */
export function evaluate(model: SmallCnn, set: ImageSet, batchSize = 1000): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { x, y } = mnistBatch(set, indices);
    correct += tf.tidy(() => model.forward(x, false).argMax(1).equal(y.argMax(1)).sum().dataSync()[0]);
    x.dispose();
    y.dispose();
  }
  return correct / set.count;
}
