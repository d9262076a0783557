// Memory: long training leaks neither tfjs tensors nor libtorch storage, disposing frees ATen memory, and the
// caching allocator's reuse of freed memory is bounded by its limit and emptied on request.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import type { ImageSet } from '../../datasets/imageSet.ts';
import { loadMnist } from '../../datasets/mnist.ts';
import { defaultMemoryCacheLimit, emptyCache, initBackend, memoryCacheInfo } from '../../engine/index.ts';
import { memoryCacheSetting } from '../../engine/libtorch/addon.ts';
import type { LibtorchBackend } from '../../engine/libtorch/backend.ts';
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

const MiB = 2 ** 20;

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

interface LoopReading {
  /** Resident memory above the loop's start. */
  growth: number;
  /** Large blocks the live tensors hold (their mapped sizes: each at most 1.25x its bytes). */
  live: number;
  cached: number;
}

/**
 * 40 iterations allocating a tensor of 16-64 M floats (64-256 MiB, sizes drawn at random) while the two before it
 * are still alive, then freeing the oldest: freed blocks rarely fit the next request exactly, the pattern that grew
 * a glibc heap told to keep every freed block (this addon's previous setting) by 1.3 GiB in 40 iterations.
 * Resident memory and the cache are read with the newest tensor allocated, when three are alive.
 */
function varyingSizesLoop(backend: LibtorchBackend, seed: number): LoopReading[] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const start = rss();
  const window: tf.Tensor[] = [];
  const readings: LoopReading[] = [];
  for (let i = 0; i < 40; i++) {
    const floats = Math.round((16 + 48 * random()) * 2 ** 20);
    window.push(tf.fill([floats], i));  // at::full writes (faults in) every page
    const cache = backend.memoryCache();
    readings.push({ growth: process.memoryUsage().rss - start, live: cache.largeBlockBytes, cached: cache.cachedBytes });
    if (window.length > 2) window.shift()!.dispose();
  }
  tf.dispose(window);
  return readings;
}

describe('memory cache', () => {
  // Resident memory the loop's bookkeeping may add besides tensors and cache: V8, tfjs, malloc's small blocks.
  const SLACK = 64 * MiB;
  let backend: LibtorchBackend;

  beforeAll(() => {
    backend = tf.backend() as LibtorchBackend;
    expect(backend.memoryCache).toBeTypeOf('function');
  });

  it('holds resident memory to the live tensors plus the cache limit under tensors of varying sizes', () => {
    const defaults = backend.memoryCache();
    // The default limit (1/8 of the machine's memory unless SQAKD_MEMORY_CACHE says otherwise) bounds this loop
    // too, but at 1/8 of a large machine it exceeds what three 256 MiB tensors can leave behind: the bound is
    // tested with a 256 MiB limit here, and that the default one holds, with the default.
    expect(defaults.limitBytes).toBe(memoryCacheSetting());
    if (!process.env.SQAKD_MEMORY_CACHE && process.env.SQAKD_RELEASE_MEMORY !== '1') {
      expect(defaults.limitBytes).toBe(defaultMemoryCacheLimit());
    }
    emptyCache();
    try {
      for (const [seed, limit] of [[1, defaults.limitBytes], [2, 256 * MiB]]) {
        backend.setMemoryCacheLimit(limit);
        const readings = varyingSizesLoop(backend, seed);
        const excess = readings.map((r) => r.growth - r.live);
        console.log(`cache limit ${(limit / MiB).toFixed(0)} MiB: peak resident +${(Math.max(...readings.map((r) => r.growth)) / MiB).toFixed(0)} MiB, ` +
          `peak above live tensors ${(Math.max(...excess) / MiB).toFixed(0)} MiB, peak cached ${(Math.max(...readings.map((r) => r.cached)) / MiB).toFixed(0)} MiB`);
        for (const r of readings) {
          expect(r.cached).toBeLessThanOrEqual(limit);
          expect(r.growth).toBeLessThanOrEqual(r.live + limit + SLACK);
        }
        emptyCache();
      }
      const cache = backend.memoryCache();
      // The loop's tensors met sizes of others now and then: the cache served some of them.
      expect(cache.hits).toBeGreaterThan(0);
    } finally {
      backend.setMemoryCacheLimit(defaults.limitBytes);
    }
  });

  it('empties on request: nothing cached, resident memory falls', () => {
    const limit = backend.memoryCache().limitBytes;
    backend.setMemoryCacheLimit('1GiB');
    emptyCache();
    const floats = 48 * 2 ** 20;  // 192 MiB each
    const tensors = [tf.fill([floats], 1), tf.fill([floats], 2), tf.fill([floats], 3)];
    tf.dispose(tensors);
    const cached = memoryCacheInfo()!.cachedBytes;
    expect(cached).toBeGreaterThanOrEqual(3 * 4 * floats);
    const before = rss();
    expect(emptyCache()).toBe(cached);
    const after = rss();
    expect(memoryCacheInfo()!.cachedBytes).toBe(0);
    expect((tf.memory() as tf.MemoryInfo & { numBytesCached: number }).numBytesCached).toBe(0);
    console.log(`emptyCache: ${(cached / MiB).toFixed(0)} MiB cached, resident ${(before / MiB).toFixed(0)} -> ${(after / MiB).toFixed(0)} MiB`);
    // The blocks' pages were all written, so nearly all of them leave.
    expect(before - after).toBeGreaterThan(0.9 * 3 * 4 * floats);
    backend.setMemoryCacheLimit(limit);
  });
});
