// BatchNorm2d (NHWC) and BatchNorm1d ([batch, features]) as in torch.nn: batch statistics and a running-average
// update (momentum 0.1, unbiased variance) in training, running statistics in evaluation.
import * as tf from '@tensorflow/tfjs-core';

import { batchNormTraining } from '../../engine/index.ts';
import { Module } from './module.ts';

export class BatchNorm extends Module {
  readonly features: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(features: number, options: { eps?: number; momentum?: number } = {}) {
    super();
    this.features = features;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = this.registerParameter('weight', tf.ones([features]));
    this.bias = this.registerParameter('bias', tf.zeros([features]));
    this.runningMean = this.registerBuffer('runningMean', tf.zeros([features]));
    this.runningVar = this.registerBuffer('runningVar', tf.ones([features]));
  }

  resetParameters(): void {
    // Assigning inside tidy frees the temporaries once the variables hold their values.
    tf.tidy(() => {
      this.weight.assign(tf.onesLike(this.weight));
      this.bias.assign(tf.zerosLike(this.bias));
    });
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training) return tf.batchNorm(x, this.runningMean, this.runningVar, this.bias, this.weight, this.eps);
    const { y, mean, invStd } = batchNormTraining(x, this.weight, this.bias, this.eps);
    const count = x.size / this.features;
    tf.tidy(() => {
      const variance = invStd.square().reciprocal().sub(this.eps).mul(count / Math.max(count - 1, 1));
      this.runningMean.assign(this.runningMean.mul(1 - this.momentum).add(mean.mul(this.momentum)));
      this.runningVar.assign(this.runningVar.mul(1 - this.momentum).add(variance.mul(this.momentum)));
    });
    // A gradient tape keeps its own copies of these, so they can go now.
    tf.dispose([mean, invStd]);
    return y;
  }
}

/** Batch norm over the channels of NHWC images. */
export class BatchNorm2d extends BatchNorm {}

/** Batch norm over the features of [batch, features] inputs. */
export class BatchNorm1d extends BatchNorm {}
