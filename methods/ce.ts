// Plain quantization-aware training: cross-entropy on the labels (the "EWGS" baseline of Table 4).
import { crossEntropy } from './losses/crossEntropy.ts';
import { requireLabels, type TrainingMethod } from './method.ts';

export const ce: TrainingMethod = {
  name: 'ce',
  description: 'cross-entropy on the labels, no teacher',
  reference: 'standard supervised training',
  needsLabels: true,
  needsTeacher: false,
  loss: (inputs, s) => crossEntropy(inputs.student.logits, requireLabels(inputs, 'ce'), s.labelSmoothing),
};
