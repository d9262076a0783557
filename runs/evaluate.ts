// Top-1 / top-5 accuracy and the mean cross-entropy of a model on a split, in evaluation mode.
import * as tf from '@tensorflow/tfjs-core';

import type { DatasetSpec } from '../datasets/registry.ts';
import type { ImageSet } from '../datasets/imageSet.ts';
import { DataLoader } from '../datasets/loader.ts';
import { crossEntropy } from '../methods/losses/crossEntropy.ts';
import type { Classifier } from '../models/classifier.ts';

export interface Accuracy {
  top1: number;
  top5: number;
  /** Mean cross-entropy on the labels (no label smoothing), the test loss. */
  loss: number;
}

/** Accuracy on every image of `set` (no augmentation), as percentages, and the mean cross-entropy. */
export function evaluate(model: Classifier, set: ImageSet, spec: DatasetSpec, batchSize = 500): Accuracy {
  const wasTraining = model.training;
  model.eval();
  const loader = new DataLoader(set, spec, { batchSize, shuffle: false, seed: 0, augment: false, withLabels: true });
  let top1 = 0;
  let top5 = 0;
  let lossSum = 0;
  for (const batch of loader.epoch(0)) {
    // One read-back per batch for the three sums.
    const [c1, c5, ce] = tf.tidy(() => {
      const logits = model.forward(batch.x);
      const labels = batch.labels!.toInt();
      const k = Math.min(5, logits.shape[1]);
      const { indices } = tf.topk(logits, k);
      const hits = indices.equal(labels.expandDims(1));
      const ceSum = crossEntropy(logits as tf.Tensor2D, batch.labels!).mul(logits.shape[0]);
      return tf.stack([hits.slice([0, 0], [-1, 1]).sum().toFloat(), hits.any(1).sum().toFloat(), ceSum]).dataSync();
    });
    top1 += c1;
    top5 += c5;
    lossSum += ce;
    tf.dispose([batch.x, batch.labels!]);
  }
  model.train(wasTraining);
  return { top1: (100 * top1) / set.count, top5: (100 * top5) / set.count, loss: lossSum / set.count };
}
