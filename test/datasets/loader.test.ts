// The DataLoader on the libtorch backend: order and augmentation are functions of (seed, epoch, batch) only;
// batch counts; labels only when asked; crop-with-padding and flip equal to a per-image reference written here
// with plain loops; normalisation values; the resize and random-resized-crop of Tiny-ImageNet at 224.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import type { CropFlip } from '../../datasets/augmentation.ts';
import { cropFlip } from '../../datasets/batchTransforms.ts';
import type { ImageSet } from '../../datasets/imageSet.ts';
import { type Batch, DataLoader, type LoaderOptions } from '../../datasets/loader.ts';
import { datasetSpec, type DatasetSpec } from '../../datasets/registry.ts';
import { initBackend } from '../../engine/index.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const OPTIONS: LoaderOptions = { batchSize: 4, shuffle: true, seed: 7, augment: true, withLabels: true };

/** A set whose every byte is distinct enough to identify its source position (values wrap at 256). */
function tinySet(count: number, height: number, width: number, channels: number, classes = 3): ImageSet {
  const images = Uint8Array.from({ length: count * height * width * channels }, (_, i) => (i * 37 + 11) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
  return { images, labels, count, height, width, channels, classes };
}

/** A spec whose normalisation is the identity (mean 0, std 1/255), so outputs are raw pixel values. */
function identitySpec(set: ImageSet, augmentation: DatasetSpec['augmentation']): DatasetSpec {
  return {
    name: 'test', description: 'test', classes: set.classes, channels: set.channels, height: set.height,
    width: set.width, mean: new Array(set.channels).fill(0), std: new Array(set.channels).fill(1 / 255),
    augmentation, folder: null, splitSizes: { train: set.count, test: set.count }, load: () => set,
  };
}

/** Reads and disposes a batch. */
function take(batch: Batch): { x: Float32Array; shape: number[]; labels?: Int32Array; indices: Int32Array; hasLabels: boolean } {
  const out = {
    x: batch.x.dataSync() as Float32Array, shape: batch.x.shape, indices: batch.indices, hasLabels: 'labels' in batch,
    labels: batch.labels ? (batch.labels.dataSync() as Int32Array) : undefined,
  };
  expect(batch.labels?.dtype ?? 'int32').toBe('int32');
  tf.dispose([batch.x, ...(batch.labels ? [batch.labels] : [])]);
  return out;
}

function epochOf(loader: DataLoader, epoch: number) {
  return [...loader.epoch(epoch)].map(take);
}

/** Reference crop of one NHWC image padded with zeros: output (r, c) is padded (top + r, left + c'), c' mirrored. */
function referenceCrop(set: ImageSet, index: number, pad: number, top: number, left: number, flip: boolean): number[] {
  const { height: h, width: w, channels: ch } = set;
  const out: number[] = [];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const y = top + r - pad;
      const x = left + (flip ? w - 1 - c : c) - pad;
      for (let k = 0; k < ch; k++) {
        out.push(y < 0 || y >= h || x < 0 || x >= w ? 0 : set.images[((index * h + y) * w + x) * ch + k]);
      }
    }
  }
  return out;
}

describe('order and determinism', () => {
  const set = tinySet(10, 5, 6, 2);
  const spec = identitySpec(set, { kind: 'crop-flip', padding: 2, flip: true });

  it('gives identical batches for the same seed and epoch, from separate loaders', () => {
    const a = epochOf(new DataLoader(set, spec, OPTIONS), 3);
    const b = epochOf(new DataLoader(set, spec, OPTIONS), 3);
    expect(a).toEqual(b);
  });

  it('shuffles each epoch differently, each a permutation of the whole set', () => {
    const loader = new DataLoader(set, spec, OPTIONS);
    const orders = [0, 1, 2].map((e) => epochOf(loader, e).flatMap((b) => Array.from(b.indices)));
    for (const order of orders) expect([...order].sort((p, q) => p - q)).toEqual([...Array(10).keys()]);
    expect(orders[0]).not.toEqual(orders[1]);
    expect(orders[1]).not.toEqual(orders[2]);
    // A resumed run that starts at epoch 2 sees what the uninterrupted one saw.
    expect(epochOf(new DataLoader(set, spec, OPTIONS), 2)).toEqual(epochOf(loader, 2));
  });

  it('changes order and augmentation with the seed', () => {
    const a = epochOf(new DataLoader(set, spec, OPTIONS), 0);
    const b = epochOf(new DataLoader(set, spec, { ...OPTIONS, seed: 8 }), 0);
    expect(a.map((x) => Array.from(x.indices))).not.toEqual(b.map((x) => Array.from(x.indices)));
  });

  it('keeps the stored order without shuffle', () => {
    const batches = epochOf(new DataLoader(set, spec, { ...OPTIONS, shuffle: false }), 5);
    expect(batches.flatMap((b) => Array.from(b.indices))).toEqual([...Array(10).keys()]);
  });

  it('counts batches with and without dropLast', () => {
    const sizes = (dropLast: boolean) => {
      const loader = new DataLoader(set, spec, { ...OPTIONS, dropLast });
      const batches = epochOf(loader, 0);
      expect(batches).toHaveLength(loader.batchesPerEpoch());
      return batches.map((b) => b.shape[0]);
    };
    expect(sizes(false)).toEqual([4, 4, 2]);
    expect(sizes(true)).toEqual([4, 4]);
    expect(new DataLoader(set, spec, { ...OPTIONS, batchSize: 5, dropLast: true }).batchesPerEpoch()).toBe(2);
  });

  it('carries labels only when asked, and always the dataset indices', () => {
    const withLabels = epochOf(new DataLoader(set, spec, OPTIONS), 0);
    for (const b of withLabels) expect(Array.from(b.labels!)).toEqual(Array.from(b.indices, (i) => set.labels[i]));
    const without = [...new DataLoader(set, spec, { ...OPTIONS, withLabels: false }).epoch(0)];
    for (const b of without) {
      expect(Object.keys(b).sort()).toEqual(['indices', 'x']);
      expect(b.indices).toBeInstanceOf(Int32Array);
    }
    tf.dispose(without.map((b) => b.x));
  });

  it('leaves no tensors behind but the ones it hands out', () => {
    const before = tf.memory().numTensors;
    epochOf(new DataLoader(set, spec, OPTIONS), 0);
    // Random-resized-crop with colour jitter, and the evaluation resize.
    const tiny = tinySet(6, 64, 64, 3, 200);
    epochOf(new DataLoader(tiny, datasetSpec('tiny-imagenet-224'), OPTIONS), 0);
    epochOf(new DataLoader(tiny, datasetSpec('tiny-imagenet-224'), { ...OPTIONS, augment: false }), 0);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('crop with padding and flip', () => {
  const set = tinySet(3, 5, 6, 2);

  it('equals a per-image reference for given offsets and flips', () => {
    const draws = { top: Int32Array.from([0, 4, 2]), left: Int32Array.from([3, 0, 4]), flip: Uint8Array.from([0, 1, 1]) };
    const x = tf.tensor4d(Float32Array.from(set.images), [3, 5, 6, 2]);
    const y = cropFlip(x, 2, draws);
    expect(y.shape).toEqual([3, 5, 6, 2]);
    const expected = [0, 1, 2].flatMap((i) => referenceCrop(set, i, 2, draws.top[i], draws.left[i], draws.flip[i] === 1));
    expect(Array.from(y.dataSync())).toEqual(expected);
    tf.dispose([x, y]);
  });

  it('makes every loader image one crop and flip of its source, with varied offsets and both flips', () => {
    const aug: CropFlip = { kind: 'crop-flip', padding: 2, flip: true };
    const big = tinySet(16, 5, 6, 2);
    const loader = new DataLoader(big, identitySpec(big, aug), { ...OPTIONS, batchSize: 8 });
    const seen = new Set<string>();
    for (const epoch of [0, 1]) {
      for (const b of epochOf(loader, epoch)) {
        const size = 5 * 6 * 2;
        b.indices.forEach((index, i) => {
          const image = Array.from(b.x.subarray(i * size, (i + 1) * size));
          const matches: string[] = [];
          for (let top = 0; top <= 4; top++) {
            for (let left = 0; left <= 4; left++) {
              for (const flip of [false, true]) {
                const ref = referenceCrop(big, index, 2, top, left, flip);
                if (ref.every((v, k) => v === image[k])) matches.push(`${top},${left},${flip}`);
              }
            }
          }
          // Pixel values identify positions, so exactly one crop fits.
          expect(matches).toHaveLength(1);
          seen.add(matches[0]);
        });
      }
    }
    expect([...seen].some((m) => m.endsWith('true'))).toBe(true);
    expect([...seen].some((m) => m.endsWith('false'))).toBe(true);
    expect(new Set([...seen].map((m) => m.split(',').slice(0, 2).join())).size).toBeGreaterThan(8);
  });

  it('does not augment when augment is false', () => {
    const loader = new DataLoader(set, identitySpec(set, { kind: 'crop-flip', padding: 2, flip: true }),
      { ...OPTIONS, augment: false, shuffle: false });
    const [b] = epochOf(loader, 0);
    expect(Array.from(b.x)).toEqual(Array.from(set.images.subarray(0, 3 * 60)));
  });
});

describe('normalisation', () => {
  it('computes (x / 255 - mean) / std per channel', () => {
    const spec = datasetSpec('cifar10');
    const set = tinySet(2, 32, 32, 3, 10);
    const [b] = epochOf(new DataLoader(set, spec, { ...OPTIONS, augment: false, shuffle: false }), 0);
    for (const k of [0, 1, 2, 3, 4, 5, 1000, 3071, 6143]) {
      const c = k % 3;
      expect(b.x[k]).toBeCloseTo((set.images[k] / 255 - spec.mean[c]) / spec.std[c], 5);
    }
  });

  it('handles one channel (MNIST)', () => {
    const spec = datasetSpec('mnist');
    const set = tinySet(3, 28, 28, 1, 10);
    const [b] = epochOf(new DataLoader(set, spec, { ...OPTIONS, augment: false, shuffle: false }), 0);
    expect(b.shape).toEqual([3, 28, 28, 1]);
    expect(b.x[100]).toBeCloseTo((set.images[100] / 255 - 0.1307) / 0.3081, 5);
  });
});

describe('Tiny-ImageNet at 224', () => {
  const spec = datasetSpec('tiny-imagenet-224');
  const flat: ImageSet = { ...tinySet(2, 64, 64, 3, 200), images: new Uint8Array(2 * 64 * 64 * 3).fill(100) };

  it('resizes test images to 224 without cropping', () => {
    const [b] = epochOf(new DataLoader(flat, spec, { ...OPTIONS, augment: false }), 0);
    expect(b.shape).toEqual([2, 224, 224, 3]);
    for (const k of [0, 1, 2, 224 * 3 * 100 + 5, b.x.length - 1]) {
      expect(b.x[k]).toBeCloseTo((100 / 255 - spec.mean[k % 3]) / spec.std[k % 3], 4);
    }
  });

  it('random-resized-crops to 224 deterministically, with a full-image box equal to an align-corners resize', async () => {
    const set = tinySet(8, 64, 64, 3, 200);
    const a = epochOf(new DataLoader(set, spec, { ...OPTIONS, batchSize: 8 }), 1);
    const b = epochOf(new DataLoader(set, spec, { ...OPTIONS, batchSize: 8 }), 1);
    expect(a[0].shape).toEqual([8, 224, 224, 3]);
    expect(a).toEqual(b);
    expect(a[0].x.every(Number.isFinite)).toBe(true);
    // With the box fixed to the whole image and no jitter, each image is the resized source or its mirror.
    const whole = identitySpec(set, { kind: 'random-resized-crop', scale: [1, 1], ratio: [1, 1], flip: true });
    const [out] = epochOf(new DataLoader(set, { ...whole, height: 224, width: 224 }, { ...OPTIONS, batchSize: 8 }), 0);
    await tf.setBackend('cpu');
    const source = tf.tensor4d(Float32Array.from(set.images), [8, 64, 64, 3]);
    const resized = tf.image.resizeBilinear(source, [224, 224], true);
    const plain = resized.dataSync();
    const mirrored = tf.reverse(resized, 2).dataSync();
    tf.dispose([source, resized]);
    await tf.setBackend('libtorch');
    const size = 224 * 224 * 3;
    const flips = Array.from(out.indices, (index, i) => {
      const close = (ref: ArrayLike<number>) => {
        for (let k = 0; k < size; k++) if (Math.abs(out.x[i * size + k] - ref[index * size + k]) > 1e-3) return false;
        return true;
      };
      const [p, m] = [close(plain), close(mirrored)];
      expect(p || m).toBe(true);
      return m;
    });
    expect(new Set(flips).size).toBe(2);
  });
});
