// EWGS's delta from the Hessian (SPEC section 1, the EWGS paper's update, every few epochs): per quantizer,
// delta = (Tr(H) / n) / (3 std(g)), clipped at 0, where g is the gradient of the loss with respect to the
// quantizer's [0, 1] output x_q (the g of the EWGS backward) and H the Hessian with respect to it. Weights are
// probed through x_q as well, not through the signed value 2 x_q - 1 their layer sees, whose Hessian is a quarter
// and whose gradient std is half of x_q's (reading them there gives half the paper's delta). Tr(H) is estimated
// with Hutchinson's method (Rademacher vectors v, E[v . Hv] = Tr H); Hv comes from finite differences of gradients,
// (g(q + eps v) - g(q)) / eps, since the fused kernels have no second derivatives. One perturbed pass serves every
// quantizer at once: with independent v per quantizer, E[v_l . (Hv)_l] is the trace of quantizer l's own block.
// std(g) is the sample std (divisor n - 1, the public code's grad.std()) of g pooled over the batches; the public
// code averages per-batch ratios trace_b / (3 std(g_b)) instead, the same up to batch-to-batch noise.
import * as tf from '@tensorflow/tfjs-core';

import type { Module } from '../../models/nn/module.ts';
import { EwgsQuantizer } from './ewgs.ts';

export interface DeltaEstimate {
  path: string;
  trace: number;
  elements: number;
  gradientStd: number;
  delta: number;
}

export interface HessianOptions {
  /** Rademacher vectors per batch. */
  samples: number;
  /** Finite-difference step in x_q units ([0, 1]), for weights and activations alike. */
  epsilon: number;
  seed: number;
}

function ewgsQuantizers(model: Module): Array<[string, EwgsQuantizer]> {
  return model.namedModules().filter((e): e is [string, EwgsQuantizer] => e[1] instanceof EwgsQuantizer);
}

/** Gradients of the loss with respect to every probed output (one backward pass). */
function probedGradients(lossOf: () => tf.Scalar, variables: tf.Variable[], quantizers: EwgsQuantizer[]): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(lossOf, variables);
  tf.dispose([value, ...Object.values(grads)]);
  return quantizers.map((q) => {
    const g = q.probe!.gradient;
    if (!g) throw new Error('a quantizer was not reached by the backward pass');
    q.probe!.gradient = null;
    return g;
  });
}

/**
 * Estimates each EWGS quantizer's delta from `batches` calls of `lossOf` (each builds the loss of one batch) and
 * sets it. The model should be in training mode, as in training.
 */
export function updateEwgsDeltas(model: Module, lossOfBatch: Array<() => tf.Scalar>, options: HessianOptions): DeltaEstimate[] {
  const entries = ewgsQuantizers(model);
  if (!entries.length) return [];
  const quantizers = entries.map(([, q]) => q);
  const variables = model.parameters();
  const traces = new Array<number>(quantizers.length).fill(0);
  const squares = new Array<number>(quantizers.length).fill(0);
  const sums = new Array<number>(quantizers.length).fill(0);
  const counts = new Array<number>(quantizers.length).fill(0);
  let seed = options.seed;
  try {
    for (const lossOf of lossOfBatch) {
      for (const q of quantizers) q.probe = { perturbation: null, gradient: null };
      const base = probedGradients(lossOf, variables, quantizers);
      base.forEach((g, i) => {
        const [s, s2] = tf.tidy(() => [g.sum().dataSync()[0], g.square().sum().dataSync()[0]]);
        sums[i] += s;
        squares[i] += s2;
        counts[i] += g.size;
      });
      for (let sample = 0; sample < options.samples; sample++) {
        const vs = base.map((g) => tf.tidy(() =>
          tf.randomUniform(g.shape, 0, 1, 'float32', seed++).greater(0.5).cast('float32').mul(2).sub(1)));
        quantizers.forEach((q, i) => { q.probe = { perturbation: vs[i].mul(options.epsilon), gradient: null }; });
        const perturbed = probedGradients(lossOf, variables, quantizers);
        perturbed.forEach((g, i) => {
          traces[i] += tf.tidy(() => g.sub(base[i]).div(options.epsilon).mul(vs[i]).sum().dataSync()[0]) /
            (options.samples * lossOfBatch.length);
        });
        for (const q of quantizers) q.probe!.perturbation?.dispose();
        tf.dispose([...vs, ...perturbed]);
      }
      tf.dispose(base);
    }
  } finally {
    for (const q of quantizers) {
      q.probe?.perturbation?.dispose();
      q.probe?.gradient?.dispose();
      q.probe = null;
    }
  }
  return entries.map(([path, q], i) => {
    const elements = counts[i] / lossOfBatch.length;
    const meanGradient = sums[i] / counts[i];
    // Sample std (divisor n - 1), as the public code's grad.std().
    const deviations = squares[i] - counts[i] * meanGradient * meanGradient;
    const gradientStd = Math.sqrt(Math.max(0, deviations / Math.max(counts[i] - 1, 1)));
    const delta = gradientStd > 0 ? Math.max(0, traces[i] / elements / (3 * gradientStd)) : 0;
    q.delta = delta;
    return { path, trace: traces[i], elements, gradientStd, delta };
  });
}
