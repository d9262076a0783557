// On a machine whose libtorch has CUDA and a GPU, tensors live on the GPU and agree with the CPU. Skipped (and
// reported as skipped) everywhere else; the other suites then run on the GPU too, as the device is auto-selected.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../engine/libtorch/addon.ts';
import { describeBackend, initBackend } from '../../engine/index.ts';

const gpu = loadAddon().info().cudaAvailable && process.env.SQAKD_DEVICE !== 'cpu';

beforeAll(async () => {
  await initBackend('libtorch');
});

describe.skipIf(!gpu)('CUDA', () => {
  it('keeps libtorch tensors on the GPU', () => {
    expect(String(describeBackend('libtorch').device)).toMatch(/^cuda/);
  });

  it('trains a conv layer step to the same numbers as the cpu backend', async () => {
    const step = () => tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * 9 * 7 * 5 }, (_, i) => Math.sin(i)), [2, 9, 7, 5]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 5 * 6 }, (_, i) => Math.cos(i)), [3, 3, 5, 6]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').relu().sum();
      return tf.grads(f)([x, w]).map((g) => Array.from(g.dataSync()));
    });
    const onGpu = step();
    await tf.setBackend('cpu');
    const onCpu = step();
    await tf.setBackend('libtorch');
    onGpu.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(onCpu[i][j], 3)));
  });
});
