// Classic knowledge distillation: gamma * CE(labels) + alpha * T^2 KL(teacher || student).
import * as tf from '@tensorflow/tfjs-core';

import { crossEntropy } from './losses/crossEntropy.ts';
import { temperedKl } from './losses/kl.ts';
import { requireLabels, requireTeacher, type TrainingMethod } from './method.ts';

export const kd: TrainingMethod = {
  name: 'kd',
  description: 'gamma * cross-entropy + alpha * KL to the teacher (labels and teacher)',
  reference: 'Hinton et al., Distilling the Knowledge in a Neural Network, 2015',
  needsLabels: true,
  needsTeacher: true,
  loss: (inputs, s) => tf.tidy(() => {
    const ceTerm = crossEntropy(inputs.student.logits, requireLabels(inputs, 'kd'), s.labelSmoothing).mul(s.gamma);
    const klTerm = temperedKl(requireTeacher(inputs, 'kd').logits, inputs.student.logits, s.temperature).mul(s.alpha);
    return ceTerm.add(klTerm) as tf.Scalar;
  }),
};
