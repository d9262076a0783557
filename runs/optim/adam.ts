// Adam with coupled L2 weight decay, as torch.optim.Adam: g += wd * p; m = b1 m + (1 - b1) g;
// v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). One fused op per parameter.
import * as tf from '@tensorflow/tfjs-core';

import { adamUpdate } from '../../engine/index.ts';
import type { NamedParameter } from '../../models/nn/module.ts';
import { Optimizer } from './optimizer.ts';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: NamedParameter[], options: AdamOptions) {
    super(params, options.lr);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const p of params) {
      this.addSlot(`m.${p.name}`, p.variable);
      this.addSlot(`v.${p.name}`, p.variable);
    }
  }

  apply(grads: Record<string, tf.Tensor>): void {
    const t = this.stepCount + 1;
    const attrs = {
      beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay,
      stepSize: this.learningRate / (1 - this.beta1 ** t), correction2: Math.sqrt(1 - this.beta2 ** t),
    };
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads[p.variable.name];
        if (!g) continue;
        const m = this.slots.get(`m.${p.name}`)!;
        const v = this.slots.get(`v.${p.name}`)!;
        const [param, m1, v1] = adamUpdate(p.variable, g, m, v, attrs);
        p.variable.assign(param);
        m.assign(m1);
        v.assign(v1);
      }
    });
    this.stepCount = t;
  }
}
