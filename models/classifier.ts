// What every architecture provides: logits, the feature taps the KD methods read (SPEC section 3), which of its
// layers stay in full precision by default when the model is quantized (SPEC section 2), and which form its
// classifier head.
import type * as tf from '@tensorflow/tfjs-core';

import { Module } from './nn/module.ts';

export interface ClassifierOutput {
  logits: tf.Tensor2D;
  /** One tensor per tap, in `tapNames` order: stage outputs (NHWC), then the pooled feature vector. */
  features: tf.Tensor[];
}

export interface ArchitectureOptions {
  classes: number;
  /** Channels of the input images (1 for MNIST, 3 for CIFAR and Tiny-ImageNet). */
  inChannels: number;
}

export abstract class Classifier extends Module {
  /** Names of the feature taps, e.g. ['stem', 'stage1', 'stage2', 'stage3', 'pooled']. */
  abstract readonly tapNames: readonly string[];
  /** Module paths kept in full precision by default when the model is quantized. */
  abstract readonly fullPrecisionLayers: readonly string[];
  /** Module paths of the classifier head (what is not a "feature layer", e.g. for FSP's pre-stage). */
  abstract readonly classifierLayers: readonly string[];

  abstract forwardWithFeatures(x: tf.Tensor): ClassifierOutput;

  forward(x: tf.Tensor): tf.Tensor2D {
    return this.forwardWithFeatures(x).logits;
  }
}
