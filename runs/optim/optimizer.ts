// Optimizers with PyTorch's update rules (tfjs's have no coupled weight decay), over named parameters so their
// state can be checkpointed and restored by name.
import * as tf from '@tensorflow/tfjs-core';

import type { NamedParameter } from '../../models/nn/module.ts';

export interface OptimizerState {
  /** Steps taken (Adam's bias correction). */
  step: number;
  /** Per-parameter slots, e.g. 'momentum.layer1.0.conv1.weight'. */
  slots: Map<string, tf.Tensor>;
}

export abstract class Optimizer {
  learningRate: number;
  protected readonly params: NamedParameter[];
  protected stepCount = 0;
  protected readonly slots = new Map<string, tf.Variable>();

  constructor(params: NamedParameter[], learningRate: number) {
    this.params = params;
    this.learningRate = learningRate;
  }

  /** Adds a zero-filled state slot shaped like `like` (the temporary zeros are freed once the variable holds them). */
  protected addSlot(name: string, like: tf.Tensor): void {
    this.slots.set(name, tf.tidy(() => tf.variable(tf.zerosLike(like), false)));
  }

  /** The variables this optimizer updates. */
  variables(): tf.Variable[] {
    return this.params.map((p) => p.variable);
  }

  /** Applies one update from gradients keyed by variable name (tf.variableGrads' result). */
  abstract apply(grads: Record<string, tf.Tensor>): void;

  /**
   * The state, for checkpoints. The slot tensors are the optimizer's own (not copies): read or save them before the
   * next step, and do not dispose them.
   */
  state(): OptimizerState {
    return { step: this.stepCount, slots: new Map([...this.slots].map(([k, v]) => [k, v as tf.Tensor])) };
  }

  /**
   * Restores a saved state; slots are matched by name, and an unknown, missing or misshapen slot is an error that
   * leaves the optimizer unchanged.
   */
  restore(state: OptimizerState): void {
    for (const [name, value] of state.slots) {
      const slot = this.slots.get(name);
      if (!slot) throw new Error(`optimizer state has slot '${name}' that this model does not have`);
      if (slot.shape.join() !== value.shape.join()) {
        throw new Error(`optimizer slot '${name}' has shape [${value.shape}], expected [${slot.shape}]`);
      }
    }
    const missing = [...this.slots.keys()].filter((name) => !state.slots.has(name));
    if (missing.length) {
      throw new Error(`optimizer state lacks ${missing.length} slot(s) of this model: ${missing.slice(0, 3).join(', ')}` +
        `${missing.length > 3 ? ', ...' : ''}`);
    }
    this.stepCount = state.step;
    for (const [name, value] of state.slots) this.slots.get(name)!.assign(value);
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
  }
}
