// The libtorch CropAndResize kernel against tfjs's cpu backend (the oracle) on identical inputs: bilinear and
// nearest sampling, flipped boxes, boxes partly or wholly outside the image (the extrapolation value), crops of
// one row or column, box indices outside the batch (left as zeros, as cpu does), int32 images, and the
// 64 -> 224 upsampling the Tiny-ImageNet loader uses.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { LibtorchBackend } from '../../engine/libtorch/backend.ts';
import { DataSource, DEFAULT_TOLERANCE, difference, make, type Output, read } from './support/data.ts';

type Method = 'bilinear' | 'nearest';

interface Case {
  name: string;
  image: number[];
  boxes: number[][];
  boxInd: number[];
  cropSize: [number, number];
  method?: Method;
  extrapolationValue?: number;
  int32?: boolean;
}

beforeAll(async () => {
  await initBackend('libtorch');
});

/** The case's crop on the active backend, from inputs drawn afresh from its seeded source. */
function crop(c: Case): tf.Tensor4D {
  const d = new DataSource(c.name);
  const image = c.int32 ? d.ints(c.image, 0, 255) : d.floats(c.image, -2, 2);
  const boxes = make(c.boxes.flat(), [c.boxes.length, 4]);
  const boxInd = make(c.boxInd, [c.boxInd.length], 'int32');
  return tf.tidy(() => tf.image.cropAndResize(image() as tf.Tensor4D, boxes() as tf.Tensor2D, boxInd() as tf.Tensor1D,
    c.cropSize, c.method, c.extrapolationValue));
}

function run(c: Case): Output {
  const result = crop(c);
  const out = read(result);
  result.dispose();
  return out;
}

async function on(backend: 'cpu' | 'libtorch', c: Case): Promise<Output> {
  await tf.setBackend(backend);
  return run(c);
}

const INSIDE = [[0.1, 0.2, 0.9, 0.75], [0, 0, 1, 1], [0.3, 0.1, 0.55, 0.4]];
const FLIPPED = [[0.9, 0.8, 0.1, 0.2], [1, 0, 0, 1], [0.2, 1, 0.7, 0]];
const OUTSIDE = [[-0.3, -0.2, 1.25, 1.1], [0.5, 0.5, 1.6, 1.4], [-1, -1, -0.5, -0.2], [1.1, 0.2, 1.5, 0.9]];

const CASES: Case[] = [];
for (const method of ['bilinear', 'nearest'] as const) {
  CASES.push(
    { name: `${method}: boxes inside, batch 2`, image: [2, 6, 7, 3], boxes: INSIDE, boxInd: [0, 1, 1], cropSize: [5, 4], method },
    { name: `${method}: flipped boxes`, image: [2, 6, 7, 2], boxes: FLIPPED, boxInd: [1, 0, 1], cropSize: [4, 6], method },
    { name: `${method}: boxes outside, extrapolation 0`, image: [1, 5, 5, 2], boxes: OUTSIDE, boxInd: [0, 0, 0, 0], cropSize: [6, 5], method },
    {
      name: `${method}: boxes outside, extrapolation 1.5`, image: [1, 5, 5, 1], boxes: OUTSIDE, boxInd: [0, 0, 0, 0], cropSize: [7, 7],
      method, extrapolationValue: 1.5,
    },
    { name: `${method}: 1x1 crops (box centres)`, image: [2, 4, 6, 3], boxes: [...INSIDE, ...OUTSIDE], boxInd: [0, 1, 0, 1, 0, 1, 0], cropSize: [1, 1], method },
    { name: `${method}: one-row and one-column crops`, image: [1, 6, 6, 2], boxes: INSIDE, boxInd: [0, 0, 0], cropSize: [1, 5], method },
    { name: `${method}: one-column crops`, image: [1, 6, 6, 2], boxes: FLIPPED, boxInd: [0, 0, 0], cropSize: [5, 1], method },
    // Positions 0, 1.5, 3: nearest rounds the halves up.
    { name: `${method}: half-pixel positions`, image: [1, 4, 4, 1], boxes: [[0, 0, 1, 1]], boxInd: [0], cropSize: [3, 3], method },
    { name: `${method}: a 1x1 image`, image: [1, 1, 1, 3], boxes: [[0, 0, 1, 1], [0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]], boxInd: [0, 0, 0], cropSize: [3, 2], method },
    { name: `${method}: box indices outside the batch give zeros`, image: [2, 5, 6, 2], boxes: INSIDE, boxInd: [0, 2, 7], cropSize: [3, 4], method },
    { name: `${method}: int32 image gives float32`, image: [1, 5, 6, 3], boxes: INSIDE, boxInd: [0, 0, 0], cropSize: [4, 4], method, int32: true },
    { name: `${method}: no boxes`, image: [1, 5, 6, 3], boxes: [], boxInd: [], cropSize: [4, 4], method },
  );
}
CASES.push({
  name: 'bilinear: 64x64 to 224x224 random-resized-crop boxes',
  image: [4, 64, 64, 3],
  boxes: [[0, 0, 1, 1], [0.2, 0.7, 0.8, 0.1], [0.05, 0.3, 0.4, 0.95], [0.5, 0.5, 0.6, 0.52]],
  boxInd: [0, 1, 2, 3],
  cropSize: [224, 224],
});

function liveHandles(): number {
  return (tf.findBackend('libtorch') as LibtorchBackend).memory().liveHandles;
}

describe('CropAndResize on libtorch agrees with the cpu backend', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await tf.setBackend('libtorch');
      const before = liveHandles();
      const profile = await tf.profile(() => crop(c));
      expect(profile.kernelNames).toContain('CropAndResize');
      (profile.result as tf.Tensor).dispose();
      // Every addon tensor the kernel made was released when tfjs disposed of it.
      expect(liveHandles()).toBe(before);
      const actual = await on('libtorch', c);
      const expected = await on('cpu', c);
      expect(actual.dtype).toBe('float32');
      const diff = difference([actual], [expected], DEFAULT_TOLERANCE);
      expect(diff, diff ?? '').toBeNull();
    });
  }
});
