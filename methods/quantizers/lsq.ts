// LSQ (SPEC section 2): x_q = clamp(round(x / s), -Qn, Qp) * s with a learnable step s, straight-through rounding,
// and LSQ's gradient for s (round(v) - v inside the range, -Qn or Qp outside, v = x / s) scaled by
// 1 / sqrt(numel * Qp). Weights are signed (Qn = 2^(b-1), Qp = 2^(b-1) - 1), activations unsigned (Qn = 0,
// Qp = 2^b - 1). s starts at 2 mean|x| / sqrt(Qp) of the calibration tensor.
// Two forms, equal in the forward pass, differ in what "inside the range" means for the backward:
//   'pytorch' (quantizer lsq, the default): PyTorch's learnable fake-quantize, which MQBench and so the paper's LSQ
//     runs use, takes it from the rounded value: -Qn <= round(v) <= Qp;
//   'paper' (quantizer lsq-paper): the LSQ paper's formula takes it from the unrounded -Qn <= v <= Qp.
// They differ only where v lies within 0.5 outside the range: there 'pytorch' passes dL/dx and gives s the rounding
// error round(v) - v, 'paper' blocks dL/dx and gives s the bound -Qn or Qp.
// One-bit weights would give the levels {-1, 0} under those bounds, so they use {-s, +s} (Qn = Qp = 1, sign instead
// of round; the suite's extension, with no PyTorch counterpart): both forms take its range from the unrounded v.
import * as tf from '@tensorflow/tfjs-core';

import { customGradient } from '../../engine/index.ts';
import { Quantizer, type QuantizerOptions } from './quantizer.ts';
import { meanAbs } from './statistics.ts';

/** Where the backward's range test reads v = x / s: rounded (PyTorch, MQBench) or not (the LSQ paper). */
export type LsqForm = 'pytorch' | 'paper';

export class LsqQuantizer extends Quantizer {
  readonly step: tf.Variable;
  readonly form: LsqForm;
  private readonly qn: number;
  private readonly qp: number;
  private readonly binary: boolean;

  constructor(options: QuantizerOptions & { form?: LsqForm }) {
    super(options);
    this.form = options.form ?? 'pytorch';
    this.binary = this.role === 'weight' && this.bits === 1;
    this.qn = this.role === 'weight' ? (this.binary ? 1 : 2 ** (this.bits - 1)) : 0;
    this.qp = this.role === 'weight' ? (this.binary ? 1 : 2 ** (this.bits - 1) - 1) : 2 ** this.bits - 1;
    this.step = this.registerParameter('step', tf.ones(this.paramShape()), 'quantizer');
  }

  calibrate(x: tf.Tensor): void {
    tf.tidy(() => this.step.assign(meanAbs(this.channelView(x), this.channels !== undefined)
      .mul(2 / Math.sqrt(this.qp)).maximum(1e-8)));
  }

  forward(x: tf.Tensor): tf.Tensor {
    const { qn, qp, binary } = this;
    const rounded = this.form === 'pytorch' && !binary;
    const view = this.channelView(x);
    const gradScale = 1 / Math.sqrt((view.size / (this.channels ?? 1)) * qp);
    const lsq = customGradient<[tf.Tensor, tf.Tensor]>((input, s, save) => {
      const v = input.div(s);
      const clamped = v.clipByValue(-qn, qp);
      const levels = binary ? tf.sign(v).add(tf.equal(v, 0).cast('float32')) : clamped.round();
      save([v, levels, s]);
      return {
        value: levels.mul(s),
        gradFunc: (dy, [vs, lv, ss]) => {
          const tested = rounded ? vs.round() : vs;
          const inside = tested.greaterEqual(-qn).logicalAnd(tested.lessEqual(qp));
          const dx = dy.mul(inside.cast('float32'));
          // dx_q/ds: round(v) - v inside the range (the rounding error; the level round(clamp(v)) is round(v) there
          // in either form), the clamped level outside; for binary weights the level itself (sign(v)) everywhere.
          const dqds = binary ? lv : tf.where(inside, lv.sub(vs), lv);
          const ds = dy.mul(dqds).mul(gradScale);
          return [dx, ds.sum(this.channels === undefined ? undefined : 0).reshape(ss.shape)] as [tf.Tensor, tf.Tensor];
        },
      };
    });
    const q = lsq(view, this.step);
    return this.channels === undefined ? q : q.reshape(x.shape);
  }
}
