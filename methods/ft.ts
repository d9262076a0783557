// Factor transfer (SPEC section 3: taps[-2], the last stage map; beta 200; factor rate 0.5; a 30-epoch pre-stage).
// Kim et al. compress the teacher's last stage map t [N, H, W, Ct] into "teacher factors" with a paraphraser, an
// autoencoder trained without labels, and let a translator on the student's map s [N, H, W, Cs] produce "student
// factors" that mimic them:
//   encoder:    conv3x3 Ct->Ct, [BN], LReLU, conv3x3 Ct->F, [BN], LReLU, conv3x3 F->F, [BN], LReLU   (F = Ct * rate,
//                                                                                           rounded)
//   decoder:    conv3x3 F->F,   [BN], LReLU, conv3x3 F->Ct, [BN], LReLU, conv3x3 Ct->Ct, [BN], LReLU
//   translator: conv3x3 Cs->Cs, [BN], LReLU, conv3x3 Cs->F, [BN], LReLU, conv3x3 F->F, [BN], LReLU
// LReLU is tf.leakyRelu with slope 0.1; every conv has stride 1, padding 1 (the spatial size is kept) and a bias,
// with PyTorch's default initialisation. [BN] is a BatchNorm2d after the conv, in the translator and the paraphraser
// alike by default (SPEC section 3: "paraphraser and translator have BN after each conv"); options translatorBn 0
// and paraphraserBn 0 leave it out (this suite's first form, with no batch norm anywhere).
// Without BN the layer is an identity, so the convs keep the child indices 0, 3, 6 either way, as in the public
// code's nn.Sequential. The decoder's layers are plain convolutions: a stride-1, padding-1 transposed 3x3
// convolution is a 3x3 convolution with a flipped kernel, so the function class is the same. Every conv, the last
// of each stack included, is followed by the LeakyReLU (the same form for encoder and translator, so identical
// weights on identical maps give identical factors).
//   pre-stage (only the paraphraser trains): mean((decode(encode(t)) - t)^2) over all elements, unweighted;
//   main stage (the public code's, SPEC: "factor = per-sample L2-normalised channel mean of f^2 ([N, H*W]); loss =
//     mean abs difference"): with factor(f) = normalize(mean over channels of f^2), an [N, H*W] map whose rows
//     (samples) are scaled to unit L2 norm, the loss is mean(|factor(translator(s)) - factor(encode(t))|) over the
//     batch and the H*W positions, times beta.
// Option paperFactor 1 gives the FT paper's form instead: the factor is the whole flattened [N, H*W*F] output,
// each sample scaled to unit L2 norm, and the loss the mean over its H*W*F values (the paper writes the per-sample
// L1 norm, a sum; the mean differs by the constant H*W*F).
//
// In the main stage the paraphraser is frozen and in evaluation mode (its batch norms, if any, use their running
// statistics, as the public code's paraphraser.eval()); the translator trains in training mode. The trainer puts
// every distiller parameter, the paraphraser's too, in the main optimizer (Adam with coupled weight decay: a zero
// gradient would still move a weight through its decay term), so the freezing is done here: the teacher factor is
// computed inside a custom-gradient op whose only input is the teacher's map, so the paraphraser's weights are not
// on the gradient tape at all. They get no gradient, and the optimizers skip parameters without one (no decay, no
// moment update).
import * as tf from '@tensorflow/tfjs-core';

import { customGradient } from '../engine/index.ts';
import { BatchNorm2d } from '../models/nn/batchNorm.ts';
import { Conv2d } from '../models/nn/conv2d.ts';
import { Identity, Sequential } from '../models/nn/layers.ts';
import { Module } from '../models/nn/module.ts';
import { type DistillerSetup, type DistillInputs, FeatureDistiller, type PreStage } from './distiller.ts';
import { l2Normalize, requireSameSpatial } from './features/spatial.ts';
import { featureMethod, optionFlag, tapSlice } from './method.ts';

/** The slope of the LeakyReLUs of the paraphraser and the translator. */
export const LEAKY_SLOPE = 0.1;

class LeakyReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.leakyRelu(x, LEAKY_SLOPE);
  }
}

/**
 * Three 3x3 convolutions (stride 1, padding 1, bias), each followed by a batch norm (or an identity) and a
 * LeakyReLU: channels[0] -> ... -> channels[3].
 */
function convStack(channels: [number, number, number, number], batchNorm: boolean): Sequential {
  const layers: Module[] = [];
  for (let k = 0; k < 3; k++) {
    layers.push(new Conv2d(channels[k], channels[k + 1], 3, { padding: 1, bias: true, init: 'torch-default' }),
      batchNorm ? new BatchNorm2d(channels[k + 1]) : new Identity(), new LeakyReLU());
  }
  return new Sequential(...layers);
}

/** fn's result with the module in evaluation mode (running batch-norm statistics); its mode is restored after. */
function inEvalMode<T>(module: Module, fn: () => T): T {
  const mode = module.training;
  module.eval();
  try {
    return fn();
  } finally {
    module.train(mode);
  }
}

/** The number of factor channels for a map of `channels` channels and a factor rate. */
export function factorChannels(channels: number, rate: number): number {
  return Math.max(1, Math.round(channels * rate));
}

/** The teacher-side autoencoder; its encoder's output is the teacher factor. */
export class Paraphraser extends Module {
  constructor(channels: number, factors: number, batchNorm: boolean) {
    super();
    this.registerModule('encoder', convStack([channels, channels, factors, factors], batchNorm));
    this.registerModule('decoder', convStack([factors, factors, channels, channels], batchNorm));
  }

  encode(t: tf.Tensor): tf.Tensor {
    return this.child('encoder').forward(t);
  }

  /** The reconstruction decode(encode(t)). */
  forward(t: tf.Tensor): tf.Tensor {
    return this.child('decoder').forward(this.encode(t));
  }
}

/**
 * A factor as the loss compares it, one unit-L2 row per sample: the channel mean of the squared map, [N, H*W] (the
 * public code), or the whole flattened map, [N, H*W*C] (the FT paper).
 */
export function normalizedFactor(f: tf.Tensor, paperFactor: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = paperFactor ? f : f.square().mean(3);
    return l2Normalize(rows.reshape([f.shape[0], -1]) as tf.Tensor2D);
  });
}

export interface FactorTransferSettings {
  /** Batch norm after each conv of the translator (the public code's). */
  translatorBn: boolean;
  /** Batch norm after each conv of the paraphraser (the public code's). */
  paraphraserBn: boolean;
  /** The FT paper's factor (the whole flattened map) instead of the public code's channel mean of f^2. */
  paperFactor: boolean;
}

export class FactorTransferDistiller extends FeatureDistiller {
  override readonly preStage: PreStage;
  private readonly frozenEncode: (t: tf.Tensor) => tf.Tensor;

  constructor(private readonly tap: number, teacherChannels: number, studentChannels: number, factors: number,
    private readonly settings: FactorTransferSettings) {
    super();
    const paraphraser = this.registerModule('paraphraser', new Paraphraser(teacherChannels, factors, settings.paraphraserBn));
    this.registerModule('translator', convStack([studentChannels, studentChannels, factors, factors], settings.translatorBn));
    // Ops inside a custom gradient's forward are not recorded on the tape: the paraphraser's weights get no gradient.
    this.frozenEncode = customGradient<[tf.Tensor]>((t) => ({
      value: inEvalMode(paraphraser, () => paraphraser.encode(t)),
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

  /** The teacher's encoder output encode(t), with the paraphraser frozen (no gradient reaches its weights). */
  teacherFactor(t: tf.Tensor): tf.Tensor {
    return this.frozenEncode(t);
  }

  /** The student's translator output translator(s). */
  studentFactor(s: tf.Tensor): tf.Tensor {
    return this.child('translator').forward(s);
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    const { paperFactor } = this.settings;
    return tf.tidy(() => normalizedFactor(this.studentFactor(student.features[this.tap]), paperFactor)
      .sub(normalizedFactor(this.teacherFactor(teacher.features[this.tap]), paperFactor)).abs().mean() as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('ft', tapNames, -2, -1);

export const ft = featureMethod({
  name: 'ft',
  description: 'L1 between L2-normalised factors (channel means of f^2) of the last stage map: a teacher-side conv ' +
    'autoencoder (paraphraser, factor rate 0.5) trained first to reconstruct the teacher\'s map, then frozen; a ' +
    'student-side translator mimics its code (batch norm after every conv of both)',
  reference: 'Kim, Park & Kwak, Paraphrasing Complex Network: Network Compression via Factor Transfer, NeurIPS 2018',
  transfers: 'a compressed encoding (factors) of the teacher\'s last stage map',
  beta: 200,
  preEpochs: 30,
  options: { rate: 0.5, translatorBn: 1, paraphraserBn: 1, paperFactor: 0 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const [i] = taps(setup.tapNames);
    const name = setup.tapNames[i];
    requireSameSpatial('ft', name, setup.studentShapes[i], setup.teacherShapes[i]);
    const { options } = setup;
    const rate = options.rate;
    if (!(rate > 0)) throw new Error(`method ft needs a factor rate > 0 (--method-option rate=0.5), got ${rate}`);
    const settings: FactorTransferSettings = {
      translatorBn: optionFlag('ft', options, 'translatorBn'), paraphraserBn: optionFlag('ft', options, 'paraphraserBn'),
      paperFactor: optionFlag('ft', options, 'paperFactor'),
    };
    const teacherChannels = setup.teacherShapes[i][2];
    return new FactorTransferDistiller(i, teacherChannels, setup.studentShapes[i][2], factorChannels(teacherChannels, rate),
      settings);
  },
});
