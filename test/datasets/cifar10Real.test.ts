// CIFAR-10 from the real files under the data directory ($SQAKD_DATA, e.g. ../shared/data): counts, class
// balance and the published per-channel means. Absent files fail the test with the loader's message naming the
// folder (a skip would hide a broken data setting).
import { describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { channelMeans, labelHistogram } from '../../datasets/imageStats.ts';
import { datasetSpec } from '../../datasets/registry.ts';

const dataDir = resolveDataDir();

describe(`CIFAR-10 from ${dataDir}`, () => {
  const spec = datasetSpec('cifar10');

  it('loads 50,000 train images, 5,000 per class, with the published channel means', () => {
    const start = performance.now();
    const train = spec.load(dataDir, 'train');
    const seconds = (performance.now() - start) / 1000;
    expect([train.count, train.height, train.width, train.channels, train.classes]).toEqual([50_000, 32, 32, 3, 10]);
    expect(train.images.length).toBe(50_000 * 3072);
    expect(labelHistogram(train)).toEqual(new Array(10).fill(5000));
    const means = channelMeans(train);
    [125.3069, 122.9504, 113.8654].forEach((m, c) => expect(means[c]).toBeCloseTo(m, 3));
    // A second or two at most, even on a slow 2-core machine.
    expect(seconds).toBeLessThan(5);
  });

  it('loads 10,000 test images, 1,000 per class, with the published channel means', () => {
    const test = spec.load(dataDir, 'test');
    expect(test.count).toBe(10_000);
    expect(labelHistogram(test)).toEqual(new Array(10).fill(1000));
    const means = channelMeans(test);
    [126.0246, 123.7085, 114.8543].forEach((m, c) => expect(means[c]).toBeCloseTo(m, 3));
  });
});
