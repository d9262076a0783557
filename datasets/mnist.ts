// MNIST and Fashion-MNIST from their IDX files (as published: train-*/t10k-*, gzipped or not) in
// <data dir>/mnist/ and <data dir>/fashion-mnist/.
import { join } from 'node:path';

import { datasetFolder } from './dataDir.ts';
import { readIdx } from './idx.ts';
import type { ImageSet, Split } from './imageSet.ts';

export type MnistVariant = 'mnist' | 'fashion-mnist';

const PREFIX: Record<Split, string> = { train: 'train', test: 't10k' };
const CLASSES = 10;
const SIDE = 28;

/** Loads one split of MNIST or Fashion-MNIST, checking images and labels agree; errors name the file at fault. */
export function loadMnist(dataDir: string, split: Split, variant: MnistVariant = 'mnist'): ImageSet {
  const folder = datasetFolder(dataDir, variant, variant === 'mnist' ? 'MNIST' : 'Fashion-MNIST');
  const images = readIdx(join(folder, `${PREFIX[split]}-images-idx3-ubyte`));
  const labels = readIdx(join(folder, `${PREFIX[split]}-labels-idx1-ubyte`));
  if (images.dims.length !== 3 || images.dims[1] !== SIDE || images.dims[2] !== SIDE) {
    throw new Error(`${images.file} holds an array of ${images.dims.join('x')}, expected images of ${SIDE}x${SIDE}`);
  }
  if (labels.dims.length !== 1) {
    throw new Error(`${labels.file} holds an array of ${labels.dims.join('x')}, expected one label per image`);
  }
  if (labels.dims[0] !== images.dims[0]) {
    throw new Error(`${labels.file} holds ${labels.dims[0]} labels but ${images.file} holds ${images.dims[0]} images`);
  }
  const bad = labels.data.findIndex((l) => l >= CLASSES);
  if (bad >= 0) {
    throw new Error(`${labels.file}: label ${labels.data[bad]} at index ${bad} is outside the classes 0..${CLASSES - 1}`);
  }
  const [count, height, width] = images.dims;
  return { images: images.data, labels: labels.data, count, height, width, channels: 1, classes: CLASSES };
}
