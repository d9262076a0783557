// A linear embedding head, as CRD, CKTF and CC put on features: NHWC maps are averaged over space first, then a
// linear layer maps them to `dim` values, optionally L2-normalised. Trained with the model's optimizer.
import * as tf from '@tensorflow/tfjs-core';

import { Linear } from '../../models/nn/linear.ts';
import { Module } from '../../models/nn/module.ts';
import { l2Normalize } from './spatial.ts';

export class Embedding extends Module {
  /** `inShape` is a tap's shape without the batch: [H, W, C] or [C]. */
  constructor(inShape: number[], dim: number, private readonly normalize: boolean) {
    super();
    this.registerModule('linear', new Linear(inShape.at(-1)!, dim));
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const vector = (x.rank === 4 ? x.mean([1, 2]) : x.reshape([x.shape[0], -1])) as tf.Tensor2D;
      const embedded = this.child('linear').forward(vector) as tf.Tensor2D;
      return this.normalize ? l2Normalize(embedded) : embedded;
    });
  }
}
