// The training step stops on non-finite gradients before any update: a finite loss whose gradient holds NaN or
// an infinity (an overflow in a backward pass) raises NonFiniteGradientError with every parameter as it was, so
// the run's last checkpoint and the model in memory stay finite. A non-finite loss is returned for the trainer
// to report (test/runs/badInput.test.ts checks the messages of a whole run), also without an update.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { customGradient, initBackend } from '../../engine/index.ts';
import { createModel } from '../../models/registry.ts';
import { Sgd } from '../../runs/optim/sgd.ts';
import { NonFiniteGradientError, trainingStep } from '../../runs/trainingStep.ts';

/** The logits' sum, with the given value put into every element of its gradient. */
const sumWithGradient = (gradient: number) => customGradient<[tf.Tensor]>((x, save) => {
  save([x]);
  return { value: tf.sum(x), gradFunc: (dy, [saved]) => tf.fill(saved.shape, gradient).mul(dy) };
});

describe('training step', () => {
  beforeAll(async () => {
    await initBackend('libtorch');
  });

  for (const [what, gradient, loss] of [['NaN gradients', NaN, 'finite'], ['infinite gradients', Infinity, 'finite'],
    ['a NaN loss', 1, 'NaN']] as const) {
    it(`leaves every parameter unchanged on ${what}`, () => {
      const model = createModel('cnn-small', { classes: 10, inChannels: 1, seed: 3 });
      const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9 });
      const before = model.namedParameters().map((p) => Array.from(p.variable.dataSync()));
      const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
      const step = () => trainingStep(model, null, { x }, ({ student }) => {
        const value = sumWithGradient(gradient)(student.logits) as tf.Scalar;
        return loss === 'NaN' ? value.mul(NaN) : value;
      }, [optimizer]);
      if (loss === 'NaN') expect(step()).toBeNaN();
      else expect(step).toThrow(NonFiniteGradientError);
      expect(model.namedParameters().map((p) => Array.from(p.variable.dataSync()))).toEqual(before);
      // The same step with finite gradients does update them: the check above is not vacuous.
      trainingStep(model, null, { x }, ({ student }) => sumWithGradient(1)(student.logits) as tf.Scalar, [optimizer]);
      expect(model.namedParameters().map((p) => Array.from(p.variable.dataSync()))).not.toEqual(before);
      x.dispose();
      model.dispose();
      optimizer.dispose();
    });
  }
});
