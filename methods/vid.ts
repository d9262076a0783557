// Variational information distillation (Ahn et al., CVPR 2019; SPEC section 3: taps[1:-1], beta 1): for each tap
// the teacher's map t is modelled as a Gaussian whose mean is predicted from the student's map s and whose
// variance is learned per channel, and the loss is its negative log-likelihood (a variational lower bound on the
// mutual information, up to constants):
//   mu = W3 * relu(W2 * relu(W1 * s))            (1x1 convolutions without bias; widths C_teacher, C_teacher, C_teacher)
//   sigma_c^2 = softplus(a_c) + 1e-5             (one learnable a per teacher channel)
//   L_tap = mean over n, h, w, c of 0.5 * (log sigma_c^2 + (t - mu)^2 / sigma_c^2)
//   L = sum over taps of L_tap                    (the constant 0.5 log 2 pi is left out)
// a starts at softplus^-1(initVariance - 1e-5), so sigma^2 starts at initVariance: 5 by default, the value of the
// paper's public code (init_pred_var); option initVariance 1 gives a unit-variance start. The regressors' 1x1 convs
// have no bias, as the public code's (SPEC section 3); option bias 1 gives each one. They start from PyTorch's Conv2d
// defaults. Student and teacher maps must have the same spatial size.
import * as tf from '@tensorflow/tfjs-core';

import { Conv2d } from '../models/nn/conv2d.ts';
import { ReLU, Sequential } from '../models/nn/layers.ts';
import { Module } from '../models/nn/module.ts';
import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { requireSameSpatial } from './features/spatial.ts';
import { featureMethod, optionFlag, tapSlice } from './method.ts';

export const VARIANCE_EPS = 1e-5;

/** softplus^-1(v) = log(exp(v) - 1), computed stably for large v. */
function inverseSoftplus(v: number): number {
  return v > 20 ? v + Math.log(-Math.expm1(-v)) : Math.log(Math.expm1(v));
}

/** One tap's regressor (children: regressor) and per-channel variance parameter (logScale, the a above). */
export class VidTap extends Module {
  readonly logScale: tf.Variable;

  constructor(studentChannels: number, teacherChannels: number, private readonly initVariance: number, bias = false) {
    super();
    const conv = (cin: number, cout: number) => new Conv2d(cin, cout, 1, { bias, init: 'torch-default' });
    this.registerModule('regressor', new Sequential(
      conv(studentChannels, teacherChannels), new ReLU(), conv(teacherChannels, teacherChannels), new ReLU(),
      conv(teacherChannels, teacherChannels)));
    this.logScale = this.registerParameter('logScale', tf.fill([teacherChannels], inverseSoftplus(initVariance - VARIANCE_EPS)));
  }

  /** Sets the variance back to its initial value (the convolutions draw their own weights). */
  resetParameters(): void {
    tf.tidy(() => this.logScale.assign(tf.fill(this.logScale.shape, inverseSoftplus(this.initVariance - VARIANCE_EPS))));
  }

  /** sigma^2 per teacher channel. */
  variance(): tf.Tensor1D {
    return tf.softplus(this.logScale).add(VARIANCE_EPS) as tf.Tensor1D;
  }

  /** The predicted mean of the teacher's map. */
  forward(student: tf.Tensor): tf.Tensor {
    return this.child('regressor').forward(student);
  }

  /** Mean Gaussian negative log-likelihood (without 0.5 log 2 pi) of the teacher's map. */
  loss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
    return tf.tidy(() => {
      const variance = this.variance();
      const mu = this.forward(student);
      return variance.log().add(teacher.sub(mu).square().div(variance)).mul(0.5).mean() as tf.Scalar;
    });
  }
}

class VidDistiller extends FeatureDistiller {
  /** One child per tap read, named by the tap. */
  constructor(private readonly taps: number[], private readonly tapNames: readonly string[], setup: DistillerSetup) {
    super();
    const initVariance = setup.options.initVariance;
    if (!(initVariance > VARIANCE_EPS)) throw new Error(`method vid: option initVariance must be > ${VARIANCE_EPS}, got ${initVariance}`);
    const bias = optionFlag('vid', setup.options, 'bias');
    for (const i of taps) {
      this.registerModule(tapNames[i], new VidTap(setup.studentShapes[i][2], setup.teacherShapes[i][2], initVariance, bias));
    }
  }

  /** The regressor and variance of a tap, by tap index. */
  tap(index: number): VidTap {
    return this.child<VidTap>(this.tapNames[index]);
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => tf.addN(this.taps.map((i) => this.tap(i).loss(student.features[i], teacher.features[i]))) as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('vid', tapNames, 1, -1);

export const vid = featureMethod({
  name: 'vid',
  description: 'maximises a variational bound on the mutual information between student and teacher stage maps',
  reference: 'Ahn, Hu, Damianou, Lawrence & Dai, Variational Information Distillation for Knowledge Transfer, CVPR 2019',
  transfers: 'the teacher\'s intermediate maps, as a Gaussian predicted from the student\'s (learned per-channel variance)',
  beta: 1,
  options: { initVariance: 5, bias: 0 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    for (const i of read) requireSameSpatial('vid', setup.tapNames[i], setup.studentShapes[i], setup.teacherShapes[i]);
    return new VidDistiller(read, setup.tapNames, setup);
  },
});
