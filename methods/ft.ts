// Factor transfer (SPEC section 3: taps[-2], the last stage map; beta 200; factor rate 0.5; a 30-epoch pre-stage).
// Kim et al. compress the teacher's last stage map t [N, H, W, Ct] into "teacher factors" with a paraphraser, an
// autoencoder trained without labels, and let a translator on the student's map s [N, H, W, Cs] produce "student
// factors" that mimic them:
//   encoder:    conv3x3 Ct->Ct, LReLU, conv3x3 Ct->F, LReLU, conv3x3 F->F, LReLU          (F = round(Ct * rate))
//   decoder:    conv3x3 F->F,   LReLU, conv3x3 F->Ct, LReLU, conv3x3 Ct->Ct, LReLU
//   translator: conv3x3 Cs->Cs, LReLU, conv3x3 Cs->F, LReLU, conv3x3 F->F, LReLU
// LReLU is tf.leakyRelu with slope 0.1; every conv has stride 1, padding 1 (the spatial size is kept) and a bias,
// with PyTorch's default initialisation; there is no batch norm (so the frozen paraphraser has no batch statistics
// that a forward pass in the main stage could move). The decoder's layers are plain convolutions: a stride-1,
// padding-1 transposed 3x3 convolution is a 3x3 convolution with a flipped kernel, so the function class is the same.
// Every conv, the last of each stack included, is followed by the LeakyReLU (the same form for encoder and
// translator, so identical weights on identical maps give identical factors).
//   pre-stage (only the paraphraser trains): mean((decode(encode(t)) - t)^2) over all elements, unweighted;
//   main stage: mean(|normalize(flatten(translator(s))) - normalize(flatten(encode(t)))|) over the batch and the
//     H*W*F factor values (L1, p = 1; each sample's flattened factor scaled to unit L2 norm), times beta.
// The paper writes the L1 norm of the difference per sample (a sum over the factor values); the mean here differs by
// the constant H*W*F, which the code's beta 200 is calibrated for.
//
// In the main stage the paraphraser is frozen. The trainer puts every distiller parameter, the paraphraser's too,
// in the main optimizer (Adam with coupled weight decay: a zero gradient would still move a weight through its decay
// term), so the freezing is done here: the teacher factor is computed inside a custom-gradient op whose only input is
// the teacher's map, so the paraphraser's weights are not on the gradient tape at all. They get no gradient, and the
// optimizers skip parameters without one (no decay, no moment update).
import * as tf from '@tensorflow/tfjs-core';

import { customGradient } from '../engine/index.ts';
import { Conv2d } from '../models/nn/conv2d.ts';
import { Sequential } from '../models/nn/layers.ts';
import { Module } from '../models/nn/module.ts';
import { type DistillerSetup, type DistillInputs, FeatureDistiller, type PreStage } from './distiller.ts';
import { l2Normalize, requireSameSpatial } from './features/spatial.ts';
import { featureMethod, tapSlice } from './method.ts';

/** The slope of the LeakyReLUs of the paraphraser and the translator. */
export const LEAKY_SLOPE = 0.1;

class LeakyReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.leakyRelu(x, LEAKY_SLOPE);
  }
}

/** Three 3x3 convolutions (stride 1, padding 1, bias), each followed by a LeakyReLU: channels[0] -> ... -> channels[3]. */
function convStack(channels: [number, number, number, number]): Sequential {
  const layers: Module[] = [];
  for (let k = 0; k < 3; k++) {
    layers.push(new Conv2d(channels[k], channels[k + 1], 3, { padding: 1, bias: true, init: 'torch-default' }), new LeakyReLU());
  }
  return new Sequential(...layers);
}

/** The number of factor channels for a map of `channels` channels and a factor rate. */
export function factorChannels(channels: number, rate: number): number {
  return Math.max(1, Math.round(channels * rate));
}

/** The teacher-side autoencoder; its encoder's output is the teacher factor. */
export class Paraphraser extends Module {
  constructor(channels: number, factors: number) {
    super();
    this.registerModule('encoder', convStack([channels, channels, factors, factors]));
    this.registerModule('decoder', convStack([factors, factors, channels, channels]));
  }

  encode(t: tf.Tensor): tf.Tensor {
    return this.child('encoder').forward(t);
  }

  /** The reconstruction decode(encode(t)). */
  forward(t: tf.Tensor): tf.Tensor {
    return this.child('decoder').forward(this.encode(t));
  }
}

/** A factor as the loss compares it: flattened per sample, scaled to unit L2 norm. */
function normalizedFactor(factor: tf.Tensor): tf.Tensor2D {
  return l2Normalize(factor.reshape([factor.shape[0], -1]) as tf.Tensor2D);
}

export class FactorTransferDistiller extends FeatureDistiller {
  override readonly preStage: PreStage;
  private readonly frozenEncode: (t: tf.Tensor) => tf.Tensor;

  constructor(private readonly tap: number, teacherChannels: number, studentChannels: number, factors: number) {
    super();
    const paraphraser = this.registerModule('paraphraser', new Paraphraser(teacherChannels, factors));
    this.registerModule('translator', convStack([studentChannels, studentChannels, factors, factors]));
    // Ops inside a custom gradient's forward are not recorded on the tape: the paraphraser's weights get no gradient.
    this.frozenEncode = customGradient<[tf.Tensor]>((t) => ({
      value: paraphraser.encode(t),
      gradFunc: () => tf.zerosLike(t),
    }));
    this.preStage = {
      trains: { distillerChild: 'paraphraser' },
      loss: ({ teacher }) => tf.tidy(() => {
        const t = teacher.features[this.tap];
        return paraphraser.forward(t).sub(t).square().mean() as tf.Scalar;
      }),
    };
  }

  /** The teacher factor encode(t), with the paraphraser frozen (no gradient reaches its weights). */
  teacherFactor(t: tf.Tensor): tf.Tensor {
    return this.frozenEncode(t);
  }

  /** The student factor translator(s). */
  studentFactor(s: tf.Tensor): tf.Tensor {
    return this.child('translator').forward(s);
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => normalizedFactor(this.studentFactor(student.features[this.tap]))
      .sub(normalizedFactor(this.teacherFactor(teacher.features[this.tap]))).abs().mean() as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('ft', tapNames, -2, -1);

export const ft = featureMethod({
  name: 'ft',
  description: 'L1 between L2-normalised factors of the last stage map: a teacher-side conv autoencoder (paraphraser, ' +
    'factor rate 0.5) trained first to reconstruct the teacher\'s map, then frozen; a student-side translator mimics its code',
  reference: 'Kim, Park & Kwak, Paraphrasing Complex Network: Network Compression via Factor Transfer, NeurIPS 2018',
  transfers: 'a compressed encoding (factors) of the teacher\'s last stage map',
  beta: 200,
  preEpochs: 30,
  options: { rate: 0.5 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const [i] = taps(setup.tapNames);
    const name = setup.tapNames[i];
    requireSameSpatial('ft', name, setup.studentShapes[i], setup.teacherShapes[i]);
    const rate = setup.options.rate;
    if (!(rate > 0)) throw new Error(`method ft needs a factor rate > 0 (--method-option rate=0.5), got ${rate}`);
    const teacherChannels = setup.teacherShapes[i][2];
    return new FactorTransferDistiller(i, teacherChannels, setup.studentShapes[i][2], factorChannels(teacherChannels, rate));
  },
});
