// SQAKD (SPEC section 1): alpha * T^2 KL(teacher || student) on the final logits, and nothing else. It declares
// that it needs no labels, so the trainer's data loader does not even produce them.
import * as tf from '@tensorflow/tfjs-core';

import { temperedKl } from './losses/kl.ts';
import { objective, requireTeacher } from './method.ts';

export const sqakd = objective({
  name: 'sqakd',
  description: 'alpha * KL to the full-precision teacher only; never sees a label',
  reference: 'Zhao & Zhao, Self-Supervised Quantization-Aware Knowledge Distillation, AISTATS 2024',
  transfers: 'softened class probabilities only',
  needsLabels: false,
  needsTeacher: true,
  labelFree: { possible: true },
  loss: (inputs, s) => tf.tidy(() =>
    temperedKl(requireTeacher(inputs, 'sqakd').logits, inputs.student.logits, s.temperature).mul(s.alpha) as tf.Scalar),
});
