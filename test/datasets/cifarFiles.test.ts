// The CIFAR loaders on files the tests write in the real binary layouts: CIFAR-100's two label bytes (the fine
// one is used), the planes-to-NHWC conversion, and the errors for missing, truncated and corrupt files.
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCifar10, loadCifar100 } from '../../datasets/cifar.ts';
import { labelHistogram } from '../../datasets/imageStats.ts';
import { cifarRecords, pixelOf, RECORD_PIXELS, writeDataFile } from './support/cifarFiles.ts';

const root = mkdtempSync(join(tmpdir(), 'sqakd-cifar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fine = (r: number) => (r * 7) % 100;
const coarse = (r: number) => fine(r) % 20;

/** The pixel at (y, x, channel) of image `i` of a loaded NHWC set. */
function nhwc(images: Uint8Array, i: number, y: number, x: number, c: number): number {
  return images[i * RECORD_PIXELS + (y * 32 + x) * 3 + c];
}

describe('CIFAR-100 binary files', () => {
  const dataDir = join(root, 'c100');
  writeDataFile(dataDir, 'cifar-100-binary', 'test.bin', cifarRecords(10_000, (r) => [coarse(r), fine(r)]));
  writeDataFile(dataDir, 'cifar-100-binary', 'train.bin', cifarRecords(50_000, (r) => [coarse(r), fine(r)]));

  it('loads the test split with fine labels and NHWC pixels', () => {
    const set = loadCifar100(dataDir, 'test');
    expect([set.count, set.height, set.width, set.channels, set.classes]).toEqual([10_000, 32, 32, 3, 100]);
    expect(Array.from(set.labels.subarray(0, 5))).toEqual([0, 7, 14, 21, 28]);
    expect(labelHistogram(set)).toEqual(new Array(100).fill(100));
    for (const [i, y, x] of [[0, 0, 0], [3, 5, 17], [15, 31, 31]]) {
      for (let c = 0; c < 3; c++) expect(nhwc(set.images, i, y, x, c)).toBe(pixelOf(i, c, y * 32 + x));
    }
  });

  it('loads the train split (50,000 records in one file)', () => {
    const set = loadCifar100(dataDir, 'train');
    expect(set.count).toBe(50_000);
    expect(labelHistogram(set)).toEqual(new Array(100).fill(500));
    expect(nhwc(set.images, 9, 2, 3, 1)).toBe(pixelOf(9, 1, 2 * 32 + 3));
  });

  it('rejects a fine label outside 0..99, naming the file and record', () => {
    const dir = join(root, 'c100-bad-label');
    writeDataFile(dir, 'cifar-100-binary', 'test.bin', cifarRecords(10_000, (r) => [0, r === 42 ? 100 : 1]));
    expect(() => loadCifar100(dir, 'test')).toThrow(/test\.bin is corrupt: record 42 has label 100, outside 0\.\.99/);
  });

  it('rejects a file with the wrong record count', () => {
    const dir = join(root, 'c100-short');
    writeDataFile(dir, 'cifar-100-binary', 'train.bin', cifarRecords(10_000, () => [0, 0]));
    expect(() => loadCifar100(dir, 'train')).toThrow(/train\.bin holds 10000 CIFAR-100 records, expected 50000 \(truncated\)/);
  });
});

describe('CIFAR-10 binary files', () => {
  const dataDir = join(root, 'c10');
  const batch = (k: number) => cifarRecords(10_000, (r) => [(r + k) % 10]);
  for (let k = 1; k <= 5; k++) writeDataFile(dataDir, 'cifar-10-batches-bin', `data_batch_${k}.bin`, batch(k));
  writeDataFile(dataDir, 'cifar-10-batches-bin', 'test_batch.bin', batch(0));

  it('concatenates the five train batches in order', () => {
    const set = loadCifar10(dataDir, 'train');
    expect(set.count).toBe(50_000);
    // Record 0 of batch k has label k % 10; its pixels are the pattern of record 0.
    expect([0, 1, 2, 3, 4].map((k) => set.labels[k * 10_000])).toEqual([1, 2, 3, 4, 5]);
    expect(nhwc(set.images, 20_000, 4, 9, 2)).toBe(pixelOf(0, 2, 4 * 32 + 9));
  });

  it('names a missing folder and the setting that points at it', () => {
    expect(() => loadCifar10(join(root, 'nowhere'), 'test')).toThrow(
      /CIFAR-10 not found: expected the folder .*nowhere\/cifar-10-batches-bin \(set --data-dir or SQAKD_DATA/);
  });

  it('names a missing file', () => {
    const dir = join(root, 'c10-missing');
    writeDataFile(dir, 'cifar-10-batches-bin', 'test_batch.bin', batch(0));
    expect(() => loadCifar10(dir, 'train')).toThrow(/missing CIFAR-10 file .*data_batch_1\.bin/);
  });

  it('reports a truncated file instead of loading it', () => {
    const dir = join(root, 'c10-truncated');
    const path = writeDataFile(dir, 'cifar-10-batches-bin', 'test_batch.bin', batch(0));
    truncateSync(path, 3073 * 10_000 - 100);
    expect(() => loadCifar10(dir, 'test')).toThrow(/test_batch\.bin is truncated or corrupt: 30729900 bytes is not a whole number of 3073-byte/);
    truncateSync(path, 3073 * 9_999);
    expect(() => loadCifar10(dir, 'test')).toThrow(/holds 9999 CIFAR-10 records, expected 10000 \(truncated\)/);
  });

  it('reports a corrupt label', () => {
    const dir = join(root, 'c10-corrupt');
    writeDataFile(dir, 'cifar-10-batches-bin', 'test_batch.bin', cifarRecords(10_000, (r) => [r === 9_999 ? 255 : 0]));
    expect(() => loadCifar10(dir, 'test')).toThrow(/record 9999 has label 255, outside 0\.\.9/);
  });
});
