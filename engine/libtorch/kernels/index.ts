// The registry of libtorch kernels: every kernel file contributes a list here.
import type { KernelConfig } from '@tensorflow/tfjs-core';

import { convolutionKernels } from './convolution.ts';
import { creationKernels } from './creation.ts';
import { elementwiseKernels } from './elementwise.ts';
import { fusedKernels } from './fused.ts';
import { imageKernels } from './image.ts';
import { linalgKernels } from './linalg.ts';
import { poolingKernels } from './pooling.ts';
import { reductionKernels } from './reduction.ts';
import { shapeKernels } from './shape.ts';

export const LIBTORCH_KERNELS: KernelConfig[] = [
  ...elementwiseKernels,
  ...reductionKernels,
  ...convolutionKernels,
  ...poolingKernels,
  ...shapeKernels,
  ...creationKernels,
  ...linalgKernels,
  ...imageKernels,
  ...fusedKernels,
];
