// Plain quantization-aware training: cross-entropy on the labels (the "EWGS" baseline of Table 4).
import { crossEntropy } from './losses/crossEntropy.ts';
import { objective, requireLabels } from './method.ts';

export const ce = objective({
  name: 'ce',
  description: 'cross-entropy on the labels, no teacher',
  reference: 'standard supervised training',
  transfers: 'the labels',
  needsLabels: true,
  needsTeacher: false,
  labelFree: { possible: false, reason: 'cross-entropy is the loss on the labels' },
  loss: (inputs, s) => crossEntropy(inputs.student.logits, requireLabels(inputs, 'ce'), s.labelSmoothing),
});
