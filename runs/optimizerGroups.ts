// The optimizers of a run (SPEC section 2: the model's parameters and the quantizers' in two optimizers, each
// with its own schedule base rate) and how their state goes in and out of checkpoints.
import type * as tf from '@tensorflow/tfjs-core';

import type { NamedParameter } from '../models/nn/module.ts';
import type { Checkpoint } from './checkpoint.ts';
import { Adam } from './optim/adam.ts';
import type { Optimizer } from './optim/optimizer.ts';
import { Sgd } from './optim/sgd.ts';
import type { OptimizerSpec, PhaseRecipe } from './recipes.ts';

export interface OptimizerGroup {
  optimizer: Optimizer;
  /** The schedule's base learning rate. */
  base: number;
}

function createOptimizer(spec: OptimizerSpec, params: NamedParameter[]): Optimizer {
  return spec.kind === 'sgd'
    ? new Sgd(params, { lr: spec.lr, momentum: spec.momentum, nesterov: spec.nesterov, weightDecay: spec.weightDecay })
    : new Adam(params, { lr: spec.lr, weightDecay: spec.weightDecay });
}

/** One optimizer for everything, or one for the model's parameters and one for the quantizers'. */
export function createOptimizerGroups(params: NamedParameter[], phase: PhaseRecipe): OptimizerGroup[] {
  if (phase.quantizer === 'model') return [{ optimizer: createOptimizer(phase.model, params), base: phase.model.lr }];
  const groups = [{ optimizer: createOptimizer(phase.model, params.filter((p) => p.group === 'model')), base: phase.model.lr }];
  const quantizerParams = params.filter((p) => p.group === 'quantizer');
  if (quantizerParams.length) groups.push({ optimizer: createOptimizer(phase.quantizer, quantizerParams), base: phase.quantizer.lr });
  return groups;
}

/** The groups' slots under `prefix/<group index>/`. */
export function optimizerTensors(groups: OptimizerGroup[], prefix: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  groups.forEach(({ optimizer }, i) => {
    for (const [slot, value] of optimizer.state().slots) out.set(`${prefix}/${i}/${slot}`, value);
  });
  return out;
}

/** Restores the groups' slots and step counts from a checkpoint. */
export function restoreOptimizerGroups(groups: OptimizerGroup[], checkpoint: Checkpoint<unknown>, prefix: string,
  steps: number[]): void {
  groups.forEach(({ optimizer }, i) => {
    const start = `${prefix}/${i}/`;
    const slots = new Map([...checkpoint.tensors].filter(([name]) => name.startsWith(start))
      .map(([name, t]) => [name.slice(start.length), t]));
    optimizer.restore({ step: steps[i] ?? 0, slots });
  });
}

export function disposeGroups(groups: OptimizerGroup[]): void {
  for (const g of groups) g.optimizer.dispose();
}
