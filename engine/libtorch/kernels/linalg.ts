// Matrix products and inference-mode batch normalisation.
import {
  _FusedMatMul, backend_util, BatchMatMul, Einsum, FusedBatchNorm, type TensorInfo,
} from '@tensorflow/tfjs-core';

import { DTYPE_CODES } from '../addon.ts';
import { storedCode } from './elementwise.ts';
import { applyFusedTail } from './fusedActivation.ts';
import { kernel } from './kernel.ts';

/** The dtype of a product: the inputs' upcast dtype, as in tfjs (int32 matrices multiply to int32). */
function productCode(a: TensorInfo, y: TensorInfo): number {
  return storedCode(backend_util.upcastType(a.dtype, y.dtype));
}

export const linalgKernels = [
  kernel(BatchMatMul, ({ a, b: y }, { transposeA, transposeB }, b) =>
    b.output(b.addon.batchMatMul(b.handle(a), b.handle(y), transposeA, transposeB, productCode(a, y)))),
  kernel(_FusedMatMul, (inputs, attrs, b) => applyFusedTail(b,
    b.addon.batchMatMul(b.handle(inputs.a), b.handle(inputs.b), attrs.transposeA, attrs.transposeB,
      DTYPE_CODES.float32),
    { ...inputs, activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha })),
  kernel(Einsum, (inputs: TensorInfo[], { equation }, b) =>
    b.output(b.addon.einsum(equation, inputs.map((t) => b.handle(t))))),
  kernel(FusedBatchNorm, ({ x, mean, variance, offset, scale }, { varianceEpsilon }, b) =>
    b.output(b.addon.batchNormInference(b.handle(x), b.handle(mean), b.handle(variance),
      offset ? b.handle(offset) : null, scale ? b.handle(scale) : null, varianceEpsilon ?? 0.001))),
];
