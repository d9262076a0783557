// FitNets hints (SPEC section 3: taps[2], beta 100). A regressor on the student side maps the student's map at the
// hint tap to the teacher's channels and size; the loss is the mean squared error to the teacher's map,
//   mean over N, H, W, C of (r(s) - t)^2,
// trained together with the regressor. The FitNets paper makes r a convolution sized so that its output has the
// teacher's spatial size, followed by the teacher hint layer's non-linearity. The kernel is chosen from the two
// sizes as the public code's regressor does (see hintConvolution), and, as that code does, r always ends in a
// BatchNorm2d and a ReLU: the BN is not in the paper, and the ReLU is the hint layer's non-linearity for the ResNet
// and VGG stage taps the paper's Table 7 uses but not for every tap (MobileNet-V2's stages end linear). Both are
// kept to match the published numbers. Student and teacher share an architecture in the paper's runs, so r is
// normally a 1x1 convolution. The regressor is the distiller's child 'regressor', so it trains and is
// checkpointed with the run.
import * as tf from '@tensorflow/tfjs-core';

import { BatchNorm2d, Conv2d, type Module, ReLU, Sequential } from '../models/nn/index.ts';
import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { ConvTranspose2d, RectConv2d } from './features/regressorConvs.ts';
import { requireMaps, type TapShapes, tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/**
 * The convolution from a student map [sH, sW, Cs] to the teacher's size [tH, tW, Ct]: 3x3 stride 2 (padding 1)
 * when the student's map is twice the teacher's; a 4x4 stride-2 transposed convolution (padding 1) when it is half;
 * otherwise, when it is at least as large, an unpadded convolution with kernel (1 + sH - tH) x (1 + sW - tW), which
 * is 1x1 at equal sizes. Other pairs of sizes are refused with a one-line error.
 */
export function hintConvolution({ tap, student, teacher }: TapShapes): Module {
  const [sH, sW, sC] = student;
  const [tH, tW, tC] = teacher;
  if (sH === 2 * tH && sW === 2 * tW) return new Conv2d(sC, tC, 3, { stride: 2, padding: 1, bias: true, init: 'torch-default' });
  if (2 * sH === tH && 2 * sW === tW) return new ConvTranspose2d(sC, tC, 4, 2, 1);
  if (sH >= tH && sW >= tW) {
    return sH === tH && sW === tW
      ? new Conv2d(sC, tC, 1, { bias: true, init: 'torch-default' })
      : new RectConv2d(sC, tC, [1 + sH - tH, 1 + sW - tW]);
  }
  throw new Error(`method fitnet needs tap ${tap} of the student at least as large as the teacher's or half its size, ` +
    `got ${sH}x${sW} (student) and ${tH}x${tW} (teacher)`);
}

/** The regressor from the student's hint map to the teacher's: the chosen convolution, BN, ReLU. */
export function hintRegressor(shapes: TapShapes): Sequential {
  return new Sequential(hintConvolution(shapes), new BatchNorm2d(shapes.teacher[2]), new ReLU());
}

class HintDistiller extends FeatureDistiller {
  constructor(private readonly tap: number, regressor: Sequential) {
    super();
    this.registerModule('regressor', regressor);
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return tf.tidy(() => this.child('regressor').forward(student.features[this.tap])
      .sub(teacher.features[this.tap]).square().mean() as tf.Scalar);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('fitnet', tapNames, 2, 3);

export const fitnet = featureMethod({
  name: 'fitnet',
  description: 'regresses the teacher\'s hint-layer map (taps[2]) from the student\'s through a conv regressor (MSE)',
  reference: 'Romero, Ballas, Kahou, Chassang, Gatta & Bengio, FitNets: Hints for Thin Deep Nets, ICLR 2015',
  transfers: 'the teacher\'s intermediate representation itself (hint-layer activations)',
  beta: 100,
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const [i] = taps(setup.tapNames);
    const shapes = tapShapes('fitnet', setup, i);
    requireMaps('fitnet', shapes);
    return new HintDistiller(i, hintRegressor(shapes));
  },
});
