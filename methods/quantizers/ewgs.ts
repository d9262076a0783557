// EWGS / STE (SPEC sections 1-2): learnable lower/upper bounds, x_n = clamp((x - l) / (u - l), 0, 1) rounded to
// 2^b levels; weights are used as 2 * (x_q - 0.5) in [-1, 1], activations as x_q in [0, 1] (the layer's learnable
// output scale restores the magnitude). Backward of the rounding: g + delta * |g| * (x_n - x_q); delta = 0 (the
// default, and what the public code runs) is the straight-through estimator. delta can be set from a Hessian-trace
// estimate (methods/quantizers/hessianDelta.ts). Calibration on the first batch (SPEC section 2): u = 3 std(w),
// l = -u for weights, u = 3 std(x) / sqrt(1 - 2/pi), l = min(x) for activations, std being the sample standard
// deviation (divisor n - 1, PyTorch's default), per tensor or, for per-channel weights, per output channel.
import * as tf from '@tensorflow/tfjs-core';

import { customGradient, fakeQuantize } from '../../engine/index.ts';
import { Quantizer, type QuantizerOptions } from './quantizer.ts';
import { min, std } from './statistics.ts';

/** sqrt(1 - 2/pi): the std of a half-normal relative to its normal's sigma. */
const HALF_NORMAL_STD = Math.sqrt(1 - 2 / Math.PI);

/**
 * A probe for the Hessian-trace estimate (hessianDelta.ts): moves the quantizer's [0, 1] output x_q by
 * `perturbation` and records dL/dx_q, the g of the EWGS backward. Both are in x_q units for weights too, whose layer
 * sees 2 x_q - 1: the paper's delta is defined with respect to x_q, and dL/dx_q is twice the gradient at the signed
 * value (so its Hessian is four times that one's, which would halve delta if read there).
 */
export interface OutputProbe {
  perturbation: tf.Tensor | null;
  gradient: tf.Tensor | null;
}

export class EwgsQuantizer extends Quantizer {
  readonly lower: tf.Variable;
  readonly upper: tf.Variable;
  /** EWGS gradient scaling; 0 is the straight-through estimator. */
  delta: number;
  /** Set only while estimating the Hessian trace. */
  probe: OutputProbe | null = null;

  constructor(options: QuantizerOptions & { delta?: number }) {
    super(options);
    this.delta = options.delta ?? 0;
    const shape = this.paramShape();
    this.lower = this.registerParameter('lower', tf.fill(shape, options.role === 'weight' ? -1 : 0), 'quantizer');
    this.upper = this.registerParameter('upper', tf.ones(shape), 'quantizer');
  }

  /** Weights: u = 3 std(w), l = -u. Activations: u = 3 std(x) / sqrt(1 - 2/pi), l = min(x) (sample std). */
  calibrate(x: tf.Tensor): void {
    tf.tidy(() => {
      const view = this.channelView(x);
      const perChannel = this.channels !== undefined;
      const s = std(view, perChannel);
      if (this.role === 'weight') {
        this.upper.assign(s.mul(3));
        this.lower.assign(s.mul(-3));
      } else {
        this.upper.assign(s.mul(3 / HALF_NORMAL_STD));
        this.lower.assign(min(view, perChannel));
      }
    });
  }

  forward(x: tf.Tensor): tf.Tensor {
    const q = fakeQuantize(this.channelView(x), this.lower, this.upper,
      { levels: this.levels, delta: this.delta, signed: this.role === 'weight' });
    const out = this.channels === undefined ? q : q.reshape(x.shape);
    return this.probe ? this.probed(out, this.probe) : out;
  }

  /** Identity plus the probe's perturbation (in x_q units), whose backward keeps a copy of dL/dx_q. */
  private probed(out: tf.Tensor, probe: OutputProbe): tf.Tensor {
    // d(output)/d(x_q): 2 for weights (2 x_q - 1), 1 for activations (x_q itself).
    const scale = this.role === 'weight' ? 2 : 1;
    const capture = customGradient<[tf.Tensor]>((value) => ({
      value: probe.perturbation ? value.add(probe.perturbation.mul(scale)) : value.clone(),
      gradFunc: (dy) => {
        probe.gradient?.dispose();
        probe.gradient = tf.keep(dy.mul(scale));
        return dy;
      },
    }));
    return capture(out);
  }
}
