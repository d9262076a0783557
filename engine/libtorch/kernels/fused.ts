// Native kernels of the fused ops in engine/ops (batch-norm training, fake quantization) and their gradients.
import { BatchNormTraining, BatchNormTrainingGrad } from '../../ops/batchNormTraining.ts';
import { FakeQuantize, FakeQuantizeGrad } from '../../ops/fakeQuantize.ts';
import { kernel } from './kernel.ts';

interface QuantAttrs {
  levels: number;
  delta: number;
  signed: boolean;
  /** Forces the addon's ATen-composition path instead of its fused CPU loop (tests compare the two). */
  forceComposite?: boolean;
}

export const fusedKernels = [
  kernel(BatchNormTraining, ({ x, scale, offset }, { epsilon }, b) =>
    b.addon.batchNormTraining(b.handle(x), b.handle(scale), b.handle(offset), epsilon).map((p) => b.output(p))),
  kernel(BatchNormTrainingGrad, ({ dy, x, scale, mean, invStd }, { epsilon }, b) =>
    b.addon.batchNormTrainingGrad(b.handle(dy), b.handle(x), b.handle(scale), b.handle(mean), b.handle(invStd), epsilon)
      .map((p) => b.output(p))),
  kernel(FakeQuantize, ({ x, lower, upper }, attrs: QuantAttrs, b) =>
    b.output(b.addon.fakeQuantize(b.handle(x), b.handle(lower), b.handle(upper), attrs.levels, attrs.delta,
      attrs.signed, attrs.forceComposite ?? false))),
  kernel(FakeQuantizeGrad, ({ dy, x, lower, upper }, attrs: QuantAttrs, b) =>
    b.addon.fakeQuantizeGrad(b.handle(dy), b.handle(x), b.handle(lower), b.handle(upper), attrs.levels, attrs.delta,
      attrs.signed, attrs.forceComposite ?? false).map((p) => b.output(p))),
];
