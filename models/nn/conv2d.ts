// Conv2d as in torch.nn: square kernels, symmetric zero padding, optional bias, groups 1 or depthwise
// (groups = in channels). Weights are in tfjs's layout: HWIO, or HWCM (M = out/in) for depthwise.
import * as tf from '@tensorflow/tfjs-core';

import { conv2dWithBias } from '../../engine/index.ts';

import { initialWeight, type InitScheme } from './init.ts';
import { Module } from './module.ts';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  /** 1, or the input channel count for a depthwise convolution. */
  groups?: number;
  bias?: boolean;
  init?: InitScheme;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly depthwise: boolean;
  readonly init: InitScheme;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    if (groups !== 1 && !(groups === inChannels && outChannels % inChannels === 0)) {
      throw new Error(`Conv2d supports groups = 1 or depthwise (groups = in channels), got groups ${groups} for ` +
        `${inChannels} -> ${outChannels} channels`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.depthwise = groups !== 1;
    this.init = options.init ?? 'kaiming-fan-in';
    const shape = this.depthwise
      ? [kernelSize, kernelSize, inChannels, outChannels / inChannels]
      : [kernelSize, kernelSize, inChannels, outChannels];
    this.weight = this.registerParameter('weight', tf.zeros(shape));
    this.bias = options.bias ? this.registerParameter('bias', tf.zeros([outChannels])) : null;
  }

  resetParameters(seed: number): void {
    const k2 = this.kernelSize * this.kernelSize;
    const fanIn = (this.depthwise ? 1 : this.inChannels) * k2;
    // PyTorch's fan-out is out channels x kernel area whatever the groups (its depthwise weight is [out, 1, k, k]).
    const fanOut = this.outChannels * k2;
    // Assigning inside tidy frees the temporaries once the variables hold their values.
    tf.tidy(() => {
      this.weight.assign(initialWeight(this.weight.shape, this.init, fanIn, fanOut, seed));
      if (this.bias) {
        const bound = this.init === 'torch-default' ? 1 / Math.sqrt(fanIn) : 0;
        this.bias.assign(tf.randomUniform(this.bias.shape, -bound, bound, 'float32', seed + 1));
      }
    });
  }

  /** The convolution itself, with the weight given (quantized layers pass a quantized one). */
  convolve(x: tf.Tensor, weight: tf.Tensor): tf.Tensor4D {
    const pad = this.padding === 0 ? 'valid' : this.padding;
    const [input, filter] = [x as tf.Tensor4D, weight as tf.Tensor4D];
    if (this.depthwise) {
      const y = tf.depthwiseConv2d(input, filter, this.stride, pad, 'NHWC', this.dilation);
      return this.bias ? y.add(this.bias) : y;
    }
    // The bias inside the convolution's kernel, not in a pass of its own (tfjs's gradient needs no dilation).
    if (this.bias && this.dilation === 1) {
      return conv2dWithBias(input, filter, this.bias as tf.Tensor1D, { strides: this.stride, pad, dilations: 1 });
    }
    const y = tf.conv2d(input, filter, this.stride, pad, 'NHWC', this.dilation);
    return this.bias ? y.add(this.bias) : y;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.convolve(x, this.weight);
  }
}
