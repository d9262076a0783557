// MNIST and Fashion-MNIST from their IDX files (as published: train-*/t10k-*, gzipped or not) in
// <data dir>/mnist/ and <data dir>/fashion-mnist/.
import { join } from 'node:path';

import { datasetFolder } from './dataDir.ts';
import { readIdx } from './idx.ts';
import type { ImageSet, Split } from './imageSet.ts';

export type MnistVariant = 'mnist' | 'fashion-mnist';

const PREFIX: Record<Split, string> = { train: 'train', test: 't10k' };

/** Loads one split of MNIST or Fashion-MNIST, checking images and labels agree. */
export function loadMnist(dataDir: string, split: Split, variant: MnistVariant = 'mnist'): ImageSet {
  const folder = datasetFolder(dataDir, variant, variant === 'mnist' ? 'MNIST' : 'Fashion-MNIST');
  const images = readIdx(join(folder, `${PREFIX[split]}-images-idx3-ubyte`));
  const labels = readIdx(join(folder, `${PREFIX[split]}-labels-idx1-ubyte`));
  if (images.dims.length !== 3) throw new Error(`${variant} ${split} images have rank ${images.dims.length}, expected 3`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`${variant} ${split}: ${labels.dims[0]} labels for ${images.dims[0]} images`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${variant} ${split}: label ${labels.data[bad]} at index ${bad} is outside 0..9`);
  const [count, height, width] = images.dims;
  return { images: images.data, labels: labels.data, count, height, width, channels: 1, classes: 10 };
}
