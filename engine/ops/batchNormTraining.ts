// Training-mode batch normalisation: statistics of the batch over every axis but the last (NHWC images or
// [batch, features]), y = (x - mean) * invStd * scale + offset. A fused kernel where the backend has one (libtorch),
// otherwise the composite twin from plain tfjs ops; both give the same values and gradients.
// The returned mean and invStd are mainly for updating running statistics (that update is outside any loss, so
// their gradients are then zero), but they are differentiable outputs like y: a loss on them gets its gradient.
import { engine, registerGradient, type Tensor, tidy } from '@tensorflow/tfjs-core';

import { backendHasKernel, type FusedOpOptions } from './fusedKernel.ts';

export const BatchNormTraining = 'BatchNormTraining';
export const BatchNormTrainingGrad = 'BatchNormTrainingGrad';

export interface BatchNormTrainingResult {
  y: Tensor;
  /** Batch mean per channel. */
  mean: Tensor;
  /** 1 / sqrt(biased batch variance + epsilon) per channel. */
  invStd: Tensor;
}

/** Normalises x with its own batch statistics (training mode), then scales and shifts per channel. */
export function batchNormTraining(
  x: Tensor, scale: Tensor, offset: Tensor, epsilon = 1e-5, options: FusedOpOptions = {},
): BatchNormTrainingResult {
  if (!options.composite && backendHasKernel(BatchNormTraining)) {
    const [y, mean, invStd] = engine().runKernel(BatchNormTraining, { x, scale, offset }, { epsilon }) as Tensor[];
    return { y, mean, invStd };
  }
  return batchNormTrainingComposite(x, scale, offset, epsilon);
}

/** The composite twin, from plain tfjs ops (runs on any backend). */
export function batchNormTrainingComposite(x: Tensor, scale: Tensor, offset: Tensor, epsilon: number): BatchNormTrainingResult {
  return tidy(() => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const mean = x.mean(axes);
    const centered = x.sub(mean);
    const invStd = centered.square().mean(axes).add(epsilon).rsqrt();
    const y = centered.mul(invStd.mul(scale)).add(offset);
    return { y, mean, invStd };
  });
}

registerGradient({
  kernelName: BatchNormTraining,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  // tfjs passes one gradient per output (zeros for outputs that reach no loss); those of mean and invStd only
  // change dx, which the kernel adds in.
  gradFunc: (dy, saved, attrs) => {
    const [x, scale, mean, invStd] = saved;
    const [dyOfY, dMean, dInvStd] = Array.isArray(dy) ? dy : [dy];
    const [dx, dScale, dOffset] = engine().runKernel(BatchNormTrainingGrad,
      { dy: dyOfY, x, scale, mean, invStd, dMean, dInvStd },
      { epsilon: (attrs as { epsilon: number }).epsilon }) as Tensor[];
    return { x: () => dx, scale: () => dScale, offset: () => dOffset };
  },
});
