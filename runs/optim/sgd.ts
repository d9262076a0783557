// SGD with momentum, optional Nesterov and coupled L2 weight decay, as torch.optim.SGD (dampening 0):
// d = g + wd * p; buf = momentum * buf + d; p -= lr * (nesterov ? d + momentum * buf : buf). One fused op per
// parameter.
import * as tf from '@tensorflow/tfjs-core';

import { sgdUpdate } from '../../engine/index.ts';
import type { NamedParameter } from '../../models/nn/module.ts';
import { Optimizer } from './optimizer.ts';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class Sgd extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: NamedParameter[], options: SgdOptions) {
    super(params, options.lr);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    for (const p of params) this.addSlot(`momentum.${p.name}`, p.variable);
  }

  apply(grads: Record<string, tf.Tensor>): void {
    const attrs = {
      lr: this.learningRate, momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.nesterov,
      firstStep: this.stepCount === 0,
    };
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads[p.variable.name];
        if (!g) continue;
        const buffer = this.slots.get(`momentum.${p.name}`)!;
        const [param, next] = sgdUpdate(p.variable, g, buffer, attrs);
        p.variable.assign(param);
        buffer.assign(next);
      }
    });
    this.stepCount++;
  }
}
