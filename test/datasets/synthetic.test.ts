// The built-in synthetic set: deterministic, exactly class-balanced, with the normalisation constants the
// registry hard-codes. (That a small CNN learns it is tested with the trainer.)
import { describe, expect, it } from 'vitest';

import { channelMeans, labelHistogram } from '../../datasets/imageStats.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { generateSynthetic, loadSynthetic } from '../../datasets/synthetic.ts';

describe('synthetic dataset', () => {
  it('is the same on every generation', () => {
    for (const split of ['train', 'test'] as const) {
      const a = generateSynthetic(split);
      const b = generateSynthetic(split);
      expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
      expect(Buffer.from(a.labels).equals(Buffer.from(b.labels))).toBe(true);
      expect(loadSynthetic(split)).toBe(loadSynthetic(split));
    }
  });

  it('has balanced classes, the spec shape, and distinct splits', () => {
    const spec = datasetSpec('synthetic');
    const train = spec.load('', 'train');
    const test = spec.load('', 'test');
    expect([train.count, train.height, train.width, train.channels, train.classes]).toEqual([5000, 32, 32, 3, 10]);
    expect([test.height, test.width, test.channels]).toEqual([spec.height, spec.width, spec.channels]);
    expect(labelHistogram(train)).toEqual(new Array(10).fill(500));
    expect(labelHistogram(test)).toEqual(new Array(10).fill(100));
    expect(Buffer.from(train.images.subarray(0, 3072)).equals(Buffer.from(test.images.subarray(0, 3072)))).toBe(false);
  });

  it('has the mean and std the registry hard-codes', () => {
    const { images } = loadSynthetic('train');
    const spec = datasetSpec('synthetic');
    const means = channelMeans(loadSynthetic('train')).map((m) => m / 255);
    const squares = [0, 0, 0];
    for (let i = 0; i < images.length; i++) squares[i % 3] += (images[i] / 255) ** 2;
    means.forEach((m, c) => {
      expect(m).toBeCloseTo(spec.mean[c], 3);
      expect(Math.sqrt(squares[c] / (images.length / 3) - m * m)).toBeCloseTo(spec.std[c], 3);
    });
  });

  it('differs between images of one class (shifts and noise, not copies)', () => {
    const { images } = loadSynthetic('train');
    // Images 0 and 10 are both class 0.
    let differing = 0;
    for (let p = 0; p < 3072; p++) if (images[p] !== images[10 * 3072 + p]) differing++;
    expect(differing).toBeGreaterThan(2500);
  });
});
