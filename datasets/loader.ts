// Batches of an ImageSet for training and evaluation. The order of an epoch is a permutation drawn from
// (seed, epoch) alone and each batch's augmentation from (seed, epoch, batch index), so a run resumed at any epoch
// sees exactly what an uninterrupted one would. A batch is one float32 tensor made from the uint8 bytes; crop,
// flip, resize, jitter and normalisation are tensor ops on the whole batch.
import * as tf from '@tensorflow/tfjs-core';

import { drawCropFlip, drawJitter, drawResizedCrop } from './augmentation.ts';
import { colourJitter, cropFlip, normalise, resize, resizedCrops } from './batchTransforms.ts';
import type { ImageSet } from './imageSet.ts';
import { mixSeed, permutation, uniformStream } from './random.ts';
import type { DatasetSpec } from './registry.ts';

export interface Batch {
  /** Normalised images, [batch, height, width, channels] at the spec's size. */
  x: tf.Tensor4D;
  /** int32 class labels; absent (not undefined-valued: absent) when the loader was made withLabels: false. */
  labels?: tf.Tensor1D;
  /** The dataset index of each image (CRD's memory bank needs them). */
  indices: Int32Array;
}

export interface LoaderOptions {
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Apply the spec's training augmentation; pass false for the test split, which is never augmented. */
  augment: boolean;
  /** false for label-free methods (SQAKD): batches then have no labels field at all. */
  withLabels: boolean;
  /** Drop the last, smaller batch (default false). */
  dropLast?: boolean;
}

// Stream tags, so that the order and the augmentation draws of one (seed, epoch) are independent.
const ORDER_STREAM = 1;
const AUGMENT_STREAM = 2;

export class DataLoader {
  private readonly set: ImageSet;
  private readonly spec: DatasetSpec;
  private readonly options: LoaderOptions;

  /** A loader over `set`, producing batches at `spec`'s size and normalisation. */
  constructor(set: ImageSet, spec: DatasetSpec, options: LoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
    if (set.channels !== spec.channels) {
      throw new Error(`${spec.name} images have ${set.channels} channels, the spec says ${spec.channels}`);
    }
    if (spec.mean.length !== spec.channels || spec.std.length !== spec.channels) {
      throw new Error(`${spec.name}: mean and std need one value per channel (${spec.channels})`);
    }
    this.set = set;
    this.spec = spec;
    this.options = options;
  }

  /** Batches one epoch yields. */
  batchesPerEpoch(): number {
    const { count } = this.set;
    return this.options.dropLast ? Math.floor(count / this.options.batchSize) : Math.ceil(count / this.options.batchSize);
  }

  /** The order of the images in an epoch: a permutation from (seed, epoch) only, or 0..n-1 without shuffle. */
  order(epoch: number): Int32Array {
    if (!this.options.shuffle) return Int32Array.from({ length: this.set.count }, (_, i) => i);
    return permutation(this.set.count, uniformStream(mixSeed(this.options.seed, epoch, ORDER_STREAM)));
  }

  /** The batches of one epoch; the caller disposes each batch's x and labels. */
  *epoch(epoch: number): Generator<Batch> {
    const order = this.order(epoch);
    const size = this.options.batchSize;
    for (let k = 0; k < this.batchesPerEpoch(); k++) {
      const indices = order.slice(k * size, Math.min((k + 1) * size, order.length));
      yield this.batch(indices, uniformStream(mixSeed(this.options.seed, epoch, AUGMENT_STREAM, k)));
    }
  }

  private batch(indices: Int32Array, uniform: () => number): Batch {
    const x = tf.tidy(() => this.pixels(indices, uniform));
    if (!this.options.withLabels) return { x, indices };
    const labels = tf.tensor1d(Int32Array.from(indices, (i) => this.set.labels[i]), 'int32');
    return { x, labels, indices };
  }

  private pixels(indices: Int32Array, uniform: () => number): tf.Tensor4D {
    const { height, width, channels, images } = this.set;
    const imageSize = height * width * channels;
    // One memcpy-like conversion per image (TypedArray.set converts uint8 to float32 natively).
    const values = new Float32Array(indices.length * imageSize);
    indices.forEach((index, i) => values.set(images.subarray(index * imageSize, (index + 1) * imageSize), i * imageSize));
    let x = tf.tensor4d(values, [indices.length, height, width, channels]);
    const target: [number, number] = [this.spec.height, this.spec.width];
    const aug = this.options.augment ? this.spec.augmentation : { kind: 'none' as const };
    if (aug.kind === 'crop-flip') {
      x = cropFlip(x, aug.padding, drawCropFlip(aug, indices.length, uniform));
    } else if (aug.kind === 'random-resized-crop') {
      const boxes = Array.from(indices, () => drawResizedCrop(aug, height, width, uniform));
      x = resizedCrops(x, boxes, target);
      if (aug.jitter && channels === 3) x = colourJitter(x, drawJitter(aug.jitter, indices.length, uniform));
    }
    // Evaluation (and crop-flip training) at a model size that differs from the stored one: a plain resize.
    if (x.shape[1] !== target[0] || x.shape[2] !== target[1]) x = resize(x, target);
    return normalise(x, this.spec.mean, this.spec.std);
  }
}
