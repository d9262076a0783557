// Parameter initialisation. Layers know their default scheme; models pick schemes per SPEC section 5 and call
// initializeParameters(model, seed), which gives every layer a seed derived from the model seed and its path, so
// the same seed always yields the same weights whatever the construction order.
import * as tf from '@tensorflow/tfjs-core';

import type { Module } from './module.ts';

/** How a weight is drawn: Kaiming normal over fan-in or fan-out, or PyTorch's default for Linear. */
export type InitScheme = 'kaiming-fan-in' | 'kaiming-fan-out' | 'normal-0.01' | 'torch-default';

export interface Initializable {
  resetParameters(seed: number): void;
}

function isInitializable(m: Module): m is Module & Initializable {
  return typeof (m as Partial<Initializable>).resetParameters === 'function';
}

/** A 32-bit seed from a base seed and a label (FNV-1a). */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Re-draws every parameter of the model from `seed`. */
export function initializeParameters(model: Module, seed: number): void {
  for (const [path, m] of model.namedModules()) {
    if (isInitializable(m)) m.resetParameters(deriveSeed(seed, path));
  }
}

/** A weight tensor for a scheme; fanIn/fanOut as PyTorch computes them for the layer. */
export function initialWeight(shape: number[], scheme: InitScheme, fanIn: number, fanOut: number, seed: number): tf.Tensor {
  switch (scheme) {
    case 'kaiming-fan-in': return tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed);
    case 'kaiming-fan-out': return tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), 'float32', seed);
    case 'normal-0.01': return tf.randomNormal(shape, 0, 0.01, 'float32', seed);
    case 'torch-default': {
      // kaiming_uniform(a = sqrt(5)) reduces to U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
      const bound = 1 / Math.sqrt(fanIn);
      return tf.randomUniform(shape, -bound, bound, 'float32', seed);
    }
  }
}
