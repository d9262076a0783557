// What the matrix planner needs to know about an architecture on a dataset: its feature taps (to check each KD
// method can read them) and the multiply-accumulates of one forward pass (to estimate a cell's cost). The MACs are
// counted from the kernels a one-image forward pass actually runs, so every architecture is covered without a
// hand-kept table.
import * as tf from '@tensorflow/tfjs-core';

import { datasetSpec } from '../../datasets/registry.ts';
import { createModel } from '../../models/registry.ts';
import type { ModelFacts } from './plan.ts';

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Multiply-accumulates of one kernel call, from its input and output shapes (0 for kernels that do none). */
function kernelMacs(name: string, inputShapes: number[][], outputShapes: number[][]): number {
  const out = outputShapes[0] ?? [];
  switch (name) {
    case 'Conv2D': // NHWC input, HWIO filter: each output element sums kh * kw * inChannels products.
    case 'FusedConv2D': {
      const [kh, kw, inChannels] = inputShapes[1];
      return product(out) * kh * kw * inChannels;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const [kh, kw] = inputShapes[1];
      return product(out) * kh * kw;
    }
    case 'BatchMatMul':
    case '_FusedMatMul':
    case 'MatMul': {
      const a = inputShapes[0];
      const b = inputShapes[1];
      // The contracted size is the dimension the output no longer has.
      const contracted = a.at(-1) === b.at(-2) || a.at(-1) === b.at(-1) ? a.at(-1)! : a.at(-2)!;
      return product(out) * contracted;
    }
    default:
      return 0;
  }
}

/** Builds the model once on the current backend and measures its taps and forward MACs per image. */
export async function measureModelFacts(arch: string, dataset: string): Promise<ModelFacts> {
  const spec = datasetSpec(dataset);
  const model = createModel(arch, { classes: spec.classes, inChannels: spec.channels, seed: 0 });
  try {
    model.eval();
    const info = await tf.profile(() => {
      const x = tf.zeros([1, spec.height, spec.width, spec.channels]) as tf.Tensor4D;
      const output = model.forwardWithFeatures(x);
      tf.dispose([x, output.logits, ...output.features]);
    });
    const macsPerImage = info.kernels.reduce((sum, k) => sum + kernelMacs(k.name, k.inputShapes, k.outputShapes), 0);
    return { tapNames: [...model.tapNames], macsPerImage };
  } finally {
    model.dispose();
  }
}

/**
 * Facts for every architecture/dataset pair a spec names, as the planner's lookup. Pairs that cannot be built
 * (unknown names) are left out: the planner reports those names itself.
 */
export async function modelFactsFor(pairs: Iterable<[arch: string, dataset: string]>): Promise<(arch: string, dataset: string) => ModelFacts | undefined> {
  const facts = new Map<string, ModelFacts>();
  for (const [arch, dataset] of pairs) {
    const key = `${arch}/${dataset}`;
    if (facts.has(key)) continue;
    try {
      facts.set(key, await measureModelFacts(arch, dataset));
    } catch {
      // reported by the planner
    }
  }
  return (arch, dataset) => facts.get(`${arch}/${dataset}`);
}
