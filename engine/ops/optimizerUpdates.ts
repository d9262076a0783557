// One optimizer update per parameter as a single kernel where the backend has one (about ten tfjs ops otherwise,
// each a kernel call: most of a training step's calls for small models). The composite twins are the same
// arithmetic in tfjs ops, in the same order, so both give the same numbers.
import { engine, type Tensor, tidy } from '@tensorflow/tfjs-core';

import { backendHasKernel, type FusedOpOptions } from './fusedKernel.ts';

export const AdamUpdate = 'AdamUpdate';
export const SgdUpdate = 'SgdUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  correction2: number;
}

/** torch.optim.Adam's update (coupled L2 decay): returns [param, m, v] after one step. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, attrs: AdamUpdateAttrs,
  options: FusedOpOptions = {}): [Tensor, Tensor, Tensor] {
  if (!options.composite && backendHasKernel(AdamUpdate)) {
    return engine().runKernel(AdamUpdate, { param, grad, m, v }, { ...attrs }) as [Tensor, Tensor, Tensor];
  }
  return tidy(() => {
    const g = attrs.weightDecay ? grad.add(param.mul(attrs.weightDecay)) : grad;
    const m1 = m.mul(attrs.beta1).add(g.mul(1 - attrs.beta1));
    const v1 = v.mul(attrs.beta2).add(g.square().mul(1 - attrs.beta2));
    const denominator = v1.sqrt().div(attrs.correction2).add(attrs.eps);
    return [param.sub(m1.div(denominator).mul(attrs.stepSize)), m1, v1];
  });
}

export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  /** The first step starts the momentum buffer at the update itself, as PyTorch does. */
  firstStep: boolean;
}

/** torch.optim.SGD's update (dampening 0, coupled L2 decay): returns [param, momentumBuffer] after one step. */
export function sgdUpdate(param: Tensor, grad: Tensor, buffer: Tensor, attrs: SgdUpdateAttrs,
  options: FusedOpOptions = {}): [Tensor, Tensor] {
  if (!options.composite && backendHasKernel(SgdUpdate)) {
    return engine().runKernel(SgdUpdate, { param, grad, buffer }, { ...attrs }) as [Tensor, Tensor];
  }
  return tidy(() => {
    const d = attrs.weightDecay ? grad.add(param.mul(attrs.weightDecay)) : grad;
    const next = attrs.momentum === 0 ? d : attrs.firstStep ? d : buffer.mul(attrs.momentum).add(d);
    const update = attrs.momentum !== 0 && attrs.nesterov ? d.add(next.mul(attrs.momentum)) : next;
    return [param.sub(update.mul(attrs.lr)), attrs.momentum === 0 ? buffer.clone() : next.clone()];
  });
}
