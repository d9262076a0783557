// Memory: long training leaks neither tfjs tensors nor libtorch storage, and disposing frees ATen memory.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import type { ImageSet } from '../../datasets/imageSet.ts';
import { loadMnist } from '../../datasets/mnist.ts';
import { initBackend } from '../../engine/index.ts';
import { createSmallCnn, mnistBatch, trainStep } from './support/smallCnn.ts';

let train: ImageSet;

beforeAll(async () => {
  await initBackend('libtorch');
  train = loadMnist(resolveDataDir(), 'train');
});

interface Reading {
  step: number;
  tensors: number;
  dataIds: number;
  handles: number;
  rssMB: number;
}

function read(step: number): Reading {
  // A full collection first, so resident memory reflects what is live rather than garbage V8 has not reached.
  (globalThis as { gc?: () => void }).gc?.();
  const memory = tf.memory() as tf.MemoryInfo & { liveHandles: number };
  return {
    step, tensors: memory.numTensors, dataIds: tf.engine().backend.numDataIds(), handles: memory.liveHandles,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
}

describe('memory', () => {
  it('stays flat over 2,000 training steps of the CNN', () => {
    expect((globalThis as { gc?: unknown }).gc, 'run with --expose-gc (vitest.config.ts sets it)').toBeTypeOf('function');
    const model = createSmallCnn(3);
    const optimizer = tf.train.adam(1e-3);
    const batch = 32;
    const readings: Reading[] = [];
    for (let step = 1; step <= 2000; step++) {
      const start = ((step - 1) * batch) % (train.count - batch);
      const { x, y } = mnistBatch(train, Array.from({ length: batch }, (_, i) => start + i));
      trainStep(model, optimizer, x, y);
      x.dispose();
      y.dispose();
      if (step % 200 === 0) readings.push(read(step));
    }
    console.log(readings.map((r) => `step ${r.step}: ${r.tensors} tensors, ${r.rssMB.toFixed(0)} MB`).join('; '));
    const [warm, ...later] = readings;
    for (const r of later) {
      expect(r.tensors).toBe(warm.tensors);
      expect(r.dataIds).toBe(warm.dataIds);
      expect(r.handles).toBe(warm.handles);
    }
    // Resident memory wanders by about +-15 MB with the allocator's caching; a leak of even one activation per
    // step (1.6 MB) would add gigabytes.
    for (const r of later) expect(r.rssMB - warm.rssMB).toBeLessThan(48);
    model.dispose();
    optimizer.dispose();
  });

  it('frees ATen storage when tfjs disposes a tensor', () => {
    const before = tf.memory() as tf.MemoryInfo & { numBytesInLibtorch: number; liveHandles: number };
    const big = tf.ones([1024, 1024]);
    const view = big.reshape([1024 * 1024]);
    const during = tf.memory() as typeof before;
    expect(during.numBytesInLibtorch - before.numBytesInLibtorch).toBe(4 * 1024 * 1024);
    expect(during.liveHandles - before.liveHandles).toBe(2);
    big.dispose();
    // The reshaped view still uses the storage.
    expect((tf.memory() as typeof before).numBytesInLibtorch - before.numBytesInLibtorch).toBe(4 * 1024 * 1024);
    view.dispose();
    const after = tf.memory() as typeof before;
    expect(after.numBytesInLibtorch).toBe(before.numBytesInLibtorch);
    expect(after.liveHandles).toBe(before.liveHandles);
  });
});
