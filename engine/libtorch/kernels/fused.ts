// Native kernels of the fused ops in engine/ops (batch-norm training, fake quantization, ReLU's gradient,
// optimizer updates).
import { BatchNormTraining, BatchNormTrainingGrad } from '../../ops/batchNormTraining.ts';
import { FakeQuantize, FakeQuantizeGrad } from '../../ops/fakeQuantize.ts';
import { AdamUpdate, type AdamUpdateAttrs, SgdUpdate, type SgdUpdateAttrs } from '../../ops/optimizerUpdates.ts';
import { ReluGrad } from '../../ops/reluGrad.ts';
import { kernel } from './kernel.ts';

interface QuantAttrs {
  levels: number;
  delta: number;
  signed: boolean;
  /** Forces the addon's ATen-composition path instead of its fused CPU loop (tests compare the two). */
  forceComposite?: boolean;
}

export const fusedKernels = [
  kernel(AdamUpdate, ({ param, grad, m, v }, a: AdamUpdateAttrs, b) =>
    b.addon.adamUpdate(b.handle(param), b.handle(grad), b.handle(m), b.handle(v), a.beta1, a.beta2, a.eps, a.weightDecay,
      a.stepSize, a.correction2).map((p) => b.output(p))),
  kernel(SgdUpdate, ({ param, grad, buffer }, a: SgdUpdateAttrs, b) =>
    b.addon.sgdUpdate(b.handle(param), b.handle(grad), b.handle(buffer), a.lr, a.momentum, a.weightDecay, a.nesterov,
      a.firstStep).map((p) => b.output(p))),
  kernel(ReluGrad, ({ dy, x }, _attrs, b) => b.output(b.addon.reluGrad(b.handle(dy), b.handle(x)))),
  kernel(BatchNormTraining, ({ x, scale, offset }, { epsilon }, b) =>
    b.addon.batchNormTraining(b.handle(x), b.handle(scale), b.handle(offset), epsilon).map((p) => b.output(p))),
  kernel(BatchNormTrainingGrad, ({ dy, x, scale, mean, invStd, dMean, dInvStd }, { epsilon }, b) =>
    b.addon.batchNormTrainingGrad(b.handle(dy), b.handle(x), b.handle(scale), b.handle(mean), b.handle(invStd), epsilon,
      dMean ? b.handle(dMean) : null, dInvStd ? b.handle(dInvStd) : null).map((p) => b.output(p))),
  kernel(FakeQuantize, ({ x, lower, upper }, attrs: QuantAttrs, b) =>
    b.output(b.addon.fakeQuantize(b.handle(x), b.handle(lower), b.handle(upper), attrs.levels, attrs.delta,
      attrs.signed, attrs.forceComposite ?? false))),
  kernel(FakeQuantizeGrad, ({ dy, x, lower, upper }, attrs: QuantAttrs, b) =>
    b.addon.fakeQuantizeGrad(b.handle(dy), b.handle(x), b.handle(lower), b.handle(upper), attrs.levels, attrs.delta,
      attrs.signed, attrs.forceComposite ?? false).map((p) => b.output(p))),
];
