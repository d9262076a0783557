// PACT activations (SPEC section 2): y = clamp(x, 0, alpha), quantized uniformly on [0, alpha] with a
// straight-through rounding (dL/dx passes where 0 <= x < alpha); alpha is learned with PACT's gradient
// dL/dalpha = sum of dL/dy where x >= alpha.
// `trainAlpha: false` keeps alpha fixed (the public Tiny-ImageNet code never updates it). PACT's weights use
// DoReFa's quantizer, as in the PACT paper. alpha starts at 3 std(x) / sqrt(1 - 2/pi) of the calibration batch
// (the EWGS upper-bound rule: 3 sigma of the pre-ReLU normal; std the sample std, divisor n - 1, as EWGS's).
import * as tf from '@tensorflow/tfjs-core';

import { customGradient } from '../../engine/index.ts';
import { Quantizer, type QuantizerOptions } from './quantizer.ts';
import { std } from './statistics.ts';

const HALF_NORMAL_STD = Math.sqrt(1 - 2 / Math.PI);

export class PactQuantizer extends Quantizer {
  readonly alpha: tf.Variable;
  readonly trainAlpha: boolean;

  constructor(options: QuantizerOptions & { trainAlpha?: boolean }) {
    super({ ...options, channels: undefined });
    if (options.role !== 'activation') throw new Error('PACT quantizes activations; use DoReFa for PACT weights');
    this.trainAlpha = options.trainAlpha ?? true;
    this.alpha = this.trainAlpha
      ? this.registerParameter('alpha', tf.scalar(10), 'quantizer')
      : this.registerBuffer('alpha', tf.scalar(10));
  }

  calibrate(x: tf.Tensor): void {
    tf.tidy(() => this.alpha.assign(std(x, false).mul(3 / HALF_NORMAL_STD).maximum(1e-3)));
  }

  forward(x: tf.Tensor): tf.Tensor {
    const steps = this.levels - 1;
    const pact = customGradient<[tf.Tensor, tf.Tensor]>((input, alpha, save) => {
      const clipped = tf.minimum(tf.relu(input), alpha);
      const value = clipped.div(alpha).mul(steps).round().div(steps).mul(alpha);
      save([input, alpha]);
      return {
        value,
        gradFunc: (dy, [xs, a]) => [
          dy.mul(xs.greaterEqual(0).logicalAnd(xs.less(a)).cast('float32')),
          dy.mul(xs.greaterEqual(a).cast('float32')).sum(),
        ],
      };
    });
    // A frozen alpha is a buffer: its gradient is computed but no optimizer holds it.
    return pact(x, this.alpha);
  }
}
