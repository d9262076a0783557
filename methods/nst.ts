// Neuron selectivity transfer (SPEC section 3: taps[1:-1], beta 50), with the polynomial kernel of degree 2 and
// c = 0. At each tap, every channel's map (its H x W activations) is flattened and L2-normalised: a sample is a set
// of C such "selectivity" vectors. The loss is the squared maximum mean discrepancy between the student's and the
// teacher's sets under k(a, b) = (a . b)^2,
//   MMD^2 = mean_{i,i'} k(t_i, t_i') + mean_{j,j'} k(s_j, s_j') - 2 mean_{i,j} k(s_j, t_i),
// each mean over all channel pairs of one sample; averaged over the batch and summed over the taps. The two sets may
// have different sizes (channel counts); the maps must share their spatial size.
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { l2Normalize, requireSameSpatial } from './features/spatial.ts';
import { tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** NHWC features as [N, C, HW]: each channel's map flattened over its positions and L2-normalised. */
export function selectivityVectors(features: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, w, c] = features.shape;
    const channels = features.reshape([n, h * w, c]).transpose([0, 2, 1]).reshape([n * c, h * w]) as tf.Tensor2D;
    return l2Normalize(channels).reshape([n, c, h * w]);
  });
}

/** Mean of the polynomial kernel (a . b)^2 over all pairs of vectors of a [N, Ca, D] and b [N, Cb, D], and over N. */
function meanPolynomialKernel(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.matMul(a, b, false, true).square().mean();
}

/** The squared MMD between the channel sets of NHWC student and teacher maps, averaged over the batch. */
export function selectivityMmd(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const s = selectivityVectors(student);
    const t = selectivityVectors(teacher);
    return meanPolynomialKernel(t, t).add(meanPolynomialKernel(s, s)).sub(meanPolynomialKernel(s, t).mul(2));
  });
}

class SelectivityDistiller extends FeatureDistiller {
  constructor(private readonly taps: number[]) {
    super();
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => tf.addN(this.taps.map((i) =>
      selectivityMmd(student.features[i], teacher.features[i]))) as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('nst', tapNames, 1, -1);

export const nst = featureMethod({
  name: 'nst',
  description: 'matches the distribution of channel selectivity maps of the intermediate stages ' +
    '(MMD, polynomial kernel)',
  reference: 'Huang & Wang, Like What You Like: Knowledge Distill via Neuron Selectivity Transfer, ' +
    'arXiv 1707.01219 (2017)',
  transfers: 'which spatial patterns the channels of each stage respond to (neuron selectivity)',
  beta: 50,
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    for (const i of read) {
      const { tap, student, teacher } = tapShapes('nst', setup, i);
      requireSameSpatial('nst', tap, student, teacher);
    }
    return new SelectivityDistiller(read);
  },
});
