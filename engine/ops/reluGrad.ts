// The gradient of ReLU, registered in place of tfjs's own (dy * step(x), two passes over every activation and a
// kernel call each): a fused kernel where the backend has one, else exactly tfjs's formula, its composite twin.
import { engine, registerGradient, step, type Tensor } from '@tensorflow/tfjs-core';

import { backendHasKernel, type FusedOpOptions } from './fusedKernel.ts';

export const ReluGrad = 'ReluGrad';

/** dL/dx of ReLU: dy where x > 0, 0 where x <= 0, NaN where x is NaN. */
export function reluGrad(dy: Tensor, x: Tensor, options: FusedOpOptions = {}): Tensor {
  if (!options.composite && backendHasKernel(ReluGrad)) return engine().runKernel(ReluGrad, { dy, x }) as Tensor;
  return reluGradComposite(dy, x);
}

/** tfjs's own ReLU gradient. */
export function reluGradComposite(dy: Tensor, x: Tensor): Tensor {
  return dy.mul(step(x).toFloat());
}

registerGradient({
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => reluGrad(dy as Tensor, saved[0]) }),
});
