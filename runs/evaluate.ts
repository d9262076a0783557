// Top-1 / top-5 accuracy of a model on a split, in evaluation mode.
import * as tf from '@tensorflow/tfjs-core';

import type { DatasetSpec } from '../datasets/registry.ts';
import type { ImageSet } from '../datasets/imageSet.ts';
import { DataLoader } from '../datasets/loader.ts';
import type { Classifier } from '../models/classifier.ts';

export interface Accuracy {
  top1: number;
  top5: number;
}

/** Accuracy on every image of `set` (no augmentation), as percentages. */
export function evaluate(model: Classifier, set: ImageSet, spec: DatasetSpec, batchSize = 500): Accuracy {
  const wasTraining = model.training;
  model.eval();
  const loader = new DataLoader(set, spec, { batchSize, shuffle: false, seed: 0, augment: false, withLabels: true });
  let top1 = 0;
  let top5 = 0;
  for (const batch of loader.epoch(0)) {
    const [c1, c5] = tf.tidy(() => {
      const logits = model.forward(batch.x);
      const labels = batch.labels!.toInt();
      const k = Math.min(5, logits.shape[1]);
      const { indices } = tf.topk(logits, k);
      const hits = indices.equal(labels.expandDims(1));
      return [hits.slice([0, 0], [-1, 1]).sum().dataSync()[0], hits.any(1).sum().dataSync()[0]];
    });
    top1 += c1;
    top5 += c5;
    tf.dispose([batch.x, batch.labels!]);
  }
  model.train(wasTraining);
  return { top1: (100 * top1) / set.count, top5: (100 * top5) / set.count };
}
