// The fixed evaluation subset of a landscape: `count` test images chosen by seed (the same seed, the same images,
// whatever the machine), held as normalised batches for the whole sweep, with the teacher's logits on them computed
// once. Every grid point and every gradient reads the same batches.
import * as tf from '@tensorflow/tfjs-core';

import type { ImageSet } from '../../datasets/imageSet.ts';
import { DataLoader } from '../../datasets/loader.ts';
import { permutation, uniformStream } from '../../datasets/random.ts';
import type { DatasetSpec } from '../../datasets/registry.ts';
import type { Classifier } from '../../models/classifier.ts';

export interface SubsetBatch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  /** The teacher's logits on x (none without a teacher). */
  teacherLogits: tf.Tensor2D | null;
}

export interface EvaluationSubset {
  batches: SubsetBatch[];
  count: number;
  /** The chosen images' indices in the split, ascending. */
  indices: number[];
}

/** The images of `set` at `indices` (ascending), as a set of their own. */
function pick(set: ImageSet, indices: number[]): ImageSet {
  const perImage = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * perImage);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, i) => {
    images.set(set.images.subarray(src * perImage, (src + 1) * perImage), i * perImage);
    labels[i] = set.labels[src];
  });
  return { ...set, images, labels, count: indices.length };
}

/** `count` images of `set` chosen by `seed` (all of them when count >= the split's size), in split order. */
export function subsetImages(set: ImageSet, count: number, seed: number): { images: ImageSet; indices: number[] } {
  const n = Math.min(count, set.count);
  const indices = [...permutation(set.count, uniformStream(seed)).subarray(0, n)].sort((a, b) => a - b);
  return { images: pick(set, indices), indices };
}

/** The subset's images in normalised batches, with the teacher's logits on them. */
export function evaluationSubset(set: ImageSet, spec: DatasetSpec, options: { count: number; seed: number; batchSize: number;
  teacher: Classifier | null }): EvaluationSubset {
  const { images, indices } = subsetImages(set, options.count, options.seed);
  const count = images.count;
  const loader = new DataLoader(images, spec, {
    batchSize: options.batchSize, shuffle: false, seed: 0, augment: false, withLabels: true,
  });
  options.teacher?.eval();
  const batches = [...loader.epoch(0)].map((b) => ({
    x: b.x as tf.Tensor4D, labels: b.labels! as tf.Tensor1D,
    teacherLogits: options.teacher ? tf.tidy(() => options.teacher!.forward(b.x)) : null,
  }));
  return { batches, count, indices };
}

/** Frees the subset's tensors. */
export function disposeSubset(subset: EvaluationSubset): void {
  for (const b of subset.batches) tf.dispose([b.x, b.labels, ...(b.teacherLogits ? [b.teacherLogits] : [])]);
}
