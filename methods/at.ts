// Attention transfer (SPEC section 3: taps[1:-1], beta 1000), p = 2: a tap's spatial attention map is the mean
// over channels of its squared activations, flattened and L2-normalised; the loss is the mean squared difference
// between the student's and the teacher's maps, summed over the taps. That is the paper code's form (and the one
// SPEC's beta of 1000 goes with): the paper's text writes beta/2 times the (unsquared) L2 distance of the maps.
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { l2Normalize, requireSameSpatial } from './features/spatial.ts';
import { tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** The attention map of NHWC features: mean_c |f|^p, flattened per sample and L2-normalised. */
export function attentionMap(features: tf.Tensor, p: number): tf.Tensor2D {
  const [n] = features.shape;
  return l2Normalize(features.abs().pow(p).mean(3).reshape([n, -1]) as tf.Tensor2D);
}

class AttentionDistiller extends FeatureDistiller {
  constructor(private readonly taps: number[], private readonly p: number) {
    super();
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => tf.addN(this.taps.map((i) =>
      attentionMap(student.features[i], this.p).sub(attentionMap(teacher.features[i], this.p)).square().mean())) as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('at', tapNames, 1, -1);

export const at = featureMethod({
  name: 'at',
  description: 'matches spatial attention maps (mean squared activation per position) of the intermediate stages',
  reference: 'Zagoruyko & Komodakis, Paying More Attention to Attention, ICLR 2017',
  transfers: 'where each stage attends (spatial attention maps)',
  beta: 1000,
  options: { p: 2 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    for (const i of read) {
      const { tap, student, teacher } = tapShapes('at', setup, i);
      requireSameSpatial('at', tap, student, teacher);
    }
    const { p } = setup.options;
    // Below 1, |f|^p has an infinite slope at 0 (dead ReLU units are exactly 0), so training would see NaNs.
    if (!(p >= 1) || !Number.isFinite(p)) throw new Error(`method at option p must be a number >= 1, got ${p}`);
    return new AttentionDistiller(read, p);
  },
});
