// FitNets hints (SPEC section 3: taps[2], beta 100). A regressor on the student side maps the student's map at the
// hint tap to the teacher's channels and size; the loss is the mean squared error to the teacher's map,
//   mean over N, H, W, C of (r(s) - t)^2,
// trained together with the regressor. r is a 3x3 convolution (padding 1, bias, PyTorch's default init), then
// BatchNorm2d and ReLU, as in the paper code's regressor: stride 1 when student and teacher maps have the same
// spatial size, stride k when the student's map is k times the teacher's in both dimensions; other sizes are
// refused. The regressor is the distiller's child 'regressor', so it trains and is checkpointed with the run.
import * as tf from '@tensorflow/tfjs-core';

import { BatchNorm2d, Conv2d, ReLU, Sequential } from '../models/nn/index.ts';
import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { requireMaps, tapShapes } from './features/taps.ts';
import { featureMethod, tapSlice } from './method.ts';

/** The regressor from a student map [H, W, Cs] to a teacher map [H/k, W/k, Ct]: 3x3 conv (stride k), BN, ReLU. */
export function hintRegressor(student: number[], teacher: number[], stride: number): Sequential {
  return new Sequential(
    new Conv2d(student[2], teacher[2], 3, { stride, padding: 1, bias: true, init: 'torch-default' }),
    new BatchNorm2d(teacher[2]),
    new ReLU(),
  );
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
    const { tap, student, teacher } = shapes;
    const stride = student[0] / teacher[0];
    if (!Number.isInteger(stride) || student[1] !== teacher[1] * stride) {
      throw new Error(`method fitnet needs tap ${tap} of the student at the teacher's spatial size or an integer ` +
        `multiple of it, got ${student[0]}x${student[1]} (student) and ${teacher[0]}x${teacher[1]} (teacher)`);
    }
    return new HintDistiller(i, hintRegressor(student, teacher, stride));
  },
});
