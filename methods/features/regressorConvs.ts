// The two convolutions a hint regressor (FitNet) chooses between that models/nn's square Conv2d does not offer: a
// convolution with a rectangular kernel (to shrink a map by a different amount in each dimension) and a transposed
// convolution (to double a map's size). Both carry a bias and PyTorch's default initialisation, as the regressor
// they reproduce is a plain torch.nn layer. Layouts are tfjs's: NHWC maps, HWIO kernels, HWOI for the transposed one.
import * as tf from '@tensorflow/tfjs-core';

import { Module } from '../../models/nn/index.ts';

/** PyTorch's default draw (kaiming_uniform with a = sqrt(5), which is U(-1/sqrt(fanIn), 1/sqrt(fanIn))), bias too. */
function resetTorchDefault(weight: tf.Variable, bias: tf.Variable, fanIn: number, seed: number): void {
  const bound = 1 / Math.sqrt(fanIn);
  tf.tidy(() => {
    weight.assign(tf.randomUniform(weight.shape, -bound, bound, 'float32', seed));
    bias.assign(tf.randomUniform(bias.shape, -bound, bound, 'float32', seed + 1));
  });
}

/** Conv2d with a [kh, kw] kernel, stride and symmetric zero padding, with bias. */
export class RectConv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: [number, number],
    readonly stride = 1, readonly padding = 0) {
    super();
    this.weight = this.registerParameter('weight', tf.zeros([kernel[0], kernel[1], inChannels, outChannels]));
    this.bias = this.registerParameter('bias', tf.zeros([outChannels]));
  }

  resetParameters(seed: number): void {
    resetTorchDefault(this.weight, this.bias, this.inChannels * this.kernel[0] * this.kernel[1], seed);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.conv2d(x as tf.Tensor4D, this.weight as tf.Tensor4D, this.stride, this.padding === 0 ? 'valid' : this.padding)
      .add(this.bias);
  }
}

/**
 * ConvTranspose2d (k x k kernel, stride s, padding p, bias): output size (in - 1) s - 2p + k, each input position
 * spreading its kernel-weighted value over the output window it maps to.
 */
export class ConvTranspose2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
    readonly stride: number, readonly padding: number) {
    super();
    this.weight = this.registerParameter('weight', tf.zeros([kernelSize, kernelSize, outChannels, inChannels]));
    this.bias = this.registerParameter('bias', tf.zeros([outChannels]));
  }

  resetParameters(seed: number): void {
    // PyTorch takes a transposed conv's fan-in from its weight's second dimension, which is the output channels.
    resetTorchDefault(this.weight, this.bias, this.outChannels * this.kernelSize * this.kernelSize, seed);
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [n, h, w] = x.shape;
    const size = (d: number) => (d - 1) * this.stride - 2 * this.padding + this.kernelSize;
    return tf.conv2dTranspose(x as tf.Tensor4D, this.weight as tf.Tensor4D, [n, size(h), size(w), this.outChannels],
      this.stride, this.padding).add(this.bias);
  }
}
