// Parameter-free layers: activations, pooling, flattening, dropout, and Sequential.
import * as tf from '@tensorflow/tfjs-core';

import { deriveSeed } from './init.ts';
import { Module } from './module.ts';

export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

export class ReLU6 extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu6(x);
  }
}

export class Identity extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number, readonly stride = kernelSize, readonly padding = 0,
    readonly ceilMode = false) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    // tfjs takes a rounding mode only with a numeric padding ('valid' and a rounding mode is an error).
    if (this.ceilMode) return tf.maxPool(x as tf.Tensor4D, this.kernelSize, this.stride, this.padding, 'ceil');
    return tf.maxPool(x as tf.Tensor4D, this.kernelSize, this.stride, this.padding === 0 ? 'valid' : this.padding);
  }
}

/** Mean over the spatial axes: AdaptiveAvgPool2d(1) followed by flatten, [N, H, W, C] -> [N, C]. */
export class GlobalAvgPool extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mean(x, [1, 2]);
  }
}

/** Dropout whose masks come from a seed the trainer sets each step, so runs (and resumed runs) are repeatable. */
export class Dropout extends Module {
  private stepSeed = 0;

  constructor(readonly rate: number, private readonly label = 'dropout') {
    super();
  }

  /** Sets the seed of the next forward passes. */
  setStepSeed(seed: number): void {
    this.stepSeed = seed;
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, deriveSeed(this.stepSeed, this.label));
  }
}

export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: tf.Tensor): tf.Tensor {
    let y = x;
    for (const [, layer] of this.children()) y = layer.forward(y);
    return y;
  }
}

/** Sets the dropout seed of every Dropout in a model. */
export function setDropoutSeed(model: Module, seed: number): void {
  for (const [path, m] of model.namedModules()) if (m instanceof Dropout) m.setStepSeed(deriveSeed(seed, path));
}
