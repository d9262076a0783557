// Classic knowledge distillation: gamma * CE(labels) + alpha * T^2 KL(teacher || student).
import * as tf from '@tensorflow/tfjs-core';

import { crossEntropy } from './losses/crossEntropy.ts';
import { temperedKl } from './losses/kl.ts';
import { objective, requireLabels, requireTeacher } from './method.ts';

export const kd = objective({
  name: 'kd',
  description: 'gamma * cross-entropy + alpha * KL to the teacher (labels and teacher)',
  reference: 'Hinton et al., Distilling the Knowledge in a Neural Network, 2015',
  transfers: 'softened class probabilities, plus the labels',
  needsLabels: true,
  needsTeacher: true,
  labelFree: { possible: false, reason: 'without its cross-entropy term KD is SQAKD (--method sqakd)' },
  loss: (inputs, s) => tf.tidy(() => {
    const ceTerm = crossEntropy(inputs.student.logits, requireLabels(inputs, 'kd'), s.labelSmoothing).mul(s.gamma);
    const klTerm = temperedKl(requireTeacher(inputs, 'kd').logits, inputs.student.logits, s.temperature).mul(s.alpha);
    return ceTerm.add(klTerm) as tf.Scalar;
  }),
});
