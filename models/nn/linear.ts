// Linear as in torch.nn; the weight is stored [in, out] for tfjs's matMul.
import * as tf from '@tensorflow/tfjs-core';

import { initialWeight, type InitScheme } from './init.ts';
import { Module } from './module.ts';

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly init: InitScheme;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; init?: InitScheme } = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.init = options.init ?? 'torch-default';
    this.weight = this.registerParameter('weight', tf.zeros([inFeatures, outFeatures]));
    this.bias = options.bias === false ? null : this.registerParameter('bias', tf.zeros([outFeatures]));
  }

  resetParameters(seed: number): void {
    // Assigning inside tidy frees the temporaries once the variables hold their values.
    tf.tidy(() => {
      this.weight.assign(initialWeight(this.weight.shape, this.init, this.inFeatures, this.outFeatures, seed));
      if (this.bias) {
        const bound = this.init === 'torch-default' ? 1 / Math.sqrt(this.inFeatures) : 0;
        this.bias.assign(tf.randomUniform(this.bias.shape, -bound, bound, 'float32', seed + 1));
      }
    });
  }

  /** The product itself, with the weight given (quantized layers pass a quantized one). */
  multiply(x: tf.Tensor, weight: tf.Tensor): tf.Tensor2D {
    const y: tf.Tensor2D = tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D);
    return this.bias ? (y.add(this.bias) as tf.Tensor2D) : y;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.multiply(x, this.weight);
  }
}
