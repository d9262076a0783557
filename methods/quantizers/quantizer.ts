// The interface every quantizer implements. A quantizer is a Module, so its learnable parameters (group
// 'quantizer', trained by the second optimizer of SPEC section 2) are named and saved with the model.
import type * as tf from '@tensorflow/tfjs-core';

import { Module } from '../../models/nn/module.ts';

export type QuantizerRole = 'weight' | 'activation';

export interface QuantizerOptions {
  bits: number;
  role: QuantizerRole;
  /** Weights only: one set of parameters per output channel (the last axis after reshaping to [-1, channels]). */
  channels?: number;
}

/** Bit widths are 1..8 (2..256 levels); anything else is a one-line error. */
export function checkBits(bits: number, what = 'bits'): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new Error(`${what} must be an integer from 1 to 8, got ${bits}`);
  return bits;
}

export abstract class Quantizer extends Module {
  readonly bits: number;
  readonly role: QuantizerRole;
  /** Output channels for per-channel weight quantization, or undefined for per-tensor. */
  readonly channels: number | undefined;
  /** 2^bits. */
  readonly levels: number;

  constructor(options: QuantizerOptions) {
    super();
    this.bits = checkBits(options.bits);
    this.role = options.role;
    this.channels = options.role === 'weight' ? options.channels : undefined;
    this.levels = 2 ** this.bits;
  }

  /** Shape of a per-tensor or per-channel parameter. */
  protected paramShape(): number[] {
    return this.channels === undefined ? [] : [this.channels];
  }

  /** x viewed as [-1, channels] for per-channel work, unchanged for per-tensor. */
  protected channelView(x: tf.Tensor): tf.Tensor {
    return this.channels === undefined ? x : x.reshape([-1, this.channels]);
  }

  /** Sets the learnable parameters from a calibration tensor: the layer's input, or its weight. */
  abstract calibrate(x: tf.Tensor): void;

  /** The fake-quantized tensor, with the quantizer's backward. */
  abstract override forward(x: tf.Tensor): tf.Tensor;
}
