// Matrix products and inference-mode batch normalisation.
import { _FusedMatMul, BatchMatMul, Einsum, FusedBatchNorm, type TensorInfo } from '@tensorflow/tfjs-core';

import { applyFusedTail } from './fusedActivation.ts';
import { kernel } from './kernel.ts';

export const linalgKernels = [
  kernel(BatchMatMul, ({ a, b: y }, { transposeA, transposeB }, b) =>
    b.output(b.addon.batchMatMul(b.handle(a), b.handle(y), transposeA, transposeB))),
  kernel(_FusedMatMul, (inputs, attrs, b) => applyFusedTail(b,
    b.addon.batchMatMul(b.handle(inputs.a), b.handle(inputs.b), attrs.transposeA, attrs.transposeB),
    { ...inputs, activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha })),
  kernel(Einsum, (inputs: TensorInfo[], { equation }, b) =>
    b.output(b.addon.einsum(equation, inputs.map((t) => b.handle(t))))),
  kernel(FusedBatchNorm, ({ x, mean, variance, offset, scale }, { varianceEpsilon }, b) =>
    b.output(b.addon.batchNormInference(b.handle(x), b.handle(mean), b.handle(variance),
      offset ? b.handle(offset) : null, scale ? b.handle(scale) : null, varianceEpsilon ?? 0.001))),
];
