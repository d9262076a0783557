// DoReFa (SPEC section 2): weights tanh(w) / max|tanh(w)| mapped to [0, 1], quantized uniformly, used in [-1, 1];
// activations clipped to [0, 1] and quantized uniformly. No learnable parameters; straight-through rounding.
// (With 1 bit the weights become {-1, +1}, without DoReFa's E|w| scaling: the batch norm after the layer absorbs it.)
import * as tf from '@tensorflow/tfjs-core';

import { fakeQuantize } from '../../engine/index.ts';
import { Quantizer, type QuantizerOptions } from './quantizer.ts';

export class DorefaQuantizer extends Quantizer {
  private readonly zero = tf.keep(tf.scalar(0));
  private readonly one = tf.keep(tf.scalar(1));

  constructor(options: QuantizerOptions) {
    super(options);
  }

  calibrate(): void {
    // nothing to learn
  }

  forward(x: tf.Tensor): tf.Tensor {
    const params = { levels: this.levels, signed: this.role === 'weight' };
    if (this.role === 'activation') return fakeQuantize(x, this.zero, this.one, params);
    return tf.tidy(() => {
      const t = tf.tanh(this.channelView(x));
      const scaled = t.div(t.abs().max(this.channels === undefined ? undefined : 0).mul(2)).add(0.5);
      return fakeQuantize(scaled, this.zero, this.one, params).reshape(x.shape);
    });
  }

  override dispose(): void {
    super.dispose();
    tf.dispose([this.zero, this.one]);
  }
}
