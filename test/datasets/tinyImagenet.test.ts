// The Tiny-ImageNet loader on a small folder the test writes in the real layout: labels from wnids.txt order
// and val_annotations.txt, JPEG decoding (a grayscale JPEG becomes 3 equal channels), the decoded-pixel cache
// (written once, found again, invalidated when files change, falling back to another folder when the first is not
// writable) and the errors for missing folders, corrupt JPEGs and bad annotations.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { ImageSet } from '../../datasets/imageSet.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { loadTinyImagenet } from '../../datasets/tinyImagenet.ts';
import { type ExpectedImage, flatJpeg, GRAY_LEVEL, TRAIN_PER_CLASS, WNIDS, writeTinyImagenet } from './support/tinyImagenetFixture.ts';

const root = mkdtempSync(join(tmpdir(), 'sqakd-tiny-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PIXELS = 64 * 64 * 3;

/** Largest difference between each image and the flat colour it was encoded with (JPEG is lossy). */
function worstError(set: ImageSet, expected: ExpectedImage[]): number {
  let worst = 0;
  expected.forEach((e, i) => {
    for (let p = 0; p < PIXELS; p++) worst = Math.max(worst, Math.abs(set.images[i * PIXELS + p] - e.rgb[p % 3]));
  });
  return worst;
}

function fresh(name: string) {
  const dataDir = join(root, name);
  return { dataDir, fixture: writeTinyImagenet(dataDir), cache: [join(root, `${name}-cache`)] };
}

describe('Tiny-ImageNet folder layout', () => {
  const { dataDir, fixture, cache } = fresh('tiny');

  it('loads train images with labels in wnids.txt order, decoding the grayscale JPEG to 3 channels', () => {
    const set = loadTinyImagenet(dataDir, 'train', { cacheFolders: cache });
    expect([set.count, set.height, set.width, set.channels, set.classes]).toEqual([9, 64, 64, 3, 3]);
    expect(Array.from(set.labels)).toEqual(fixture.train.map((e) => e.label));
    expect(worstError(set, fixture.train)).toBeLessThanOrEqual(3);
    const gray = fixture.train.findIndex((e) => e.rgb[0] === GRAY_LEVEL);
    expect(gray).toBe(TRAIN_PER_CLASS * 2 - 1);
    expect(new Set(set.images.subarray(gray * PIXELS, (gray + 1) * PIXELS))).toEqual(new Set([GRAY_LEVEL]));
  });

  it('labels the validation images (the test split) from val_annotations.txt', () => {
    const set = loadTinyImagenet(dataDir, 'test', { cacheFolders: cache });
    expect(set.count).toBe(5);
    expect(Array.from(set.labels)).toEqual(fixture.val.map((e) => e.label));
    expect(worstError(set, fixture.val)).toBeLessThanOrEqual(3);
  });

  it('reads the pixel cache instead of decoding again, and rebuilds it when a file changes', () => {
    const first = loadTinyImagenet(dataDir, 'train', { cacheFolders: cache });
    const cached = readdirSync(cache[0]).filter((f) => f.startsWith('tiny-imagenet-200-train-'));
    expect(cached).toHaveLength(1);
    // Pin the victim's modification time (a new listing key: decoded once more), then overwrite it with garbage
    // of the same size and restore the time. The listing is unchanged, so the cache is used, which shows that
    // nothing was decoded: decoding the garbage would have thrown.
    const victim = fixture.train[0].path;
    const size = readFileSync(victim).length;
    const pinned = new Date('2020-01-01T00:00:00Z');
    utimesSync(victim, pinned, pinned);
    const keyed = loadTinyImagenet(dataDir, 'train', { cacheFolders: cache });
    writeFileSync(victim, Buffer.alloc(size, 0x41));
    utimesSync(victim, pinned, pinned);
    const again = loadTinyImagenet(dataDir, 'train', { cacheFolders: cache });
    expect(Buffer.from(again.images).equals(Buffer.from(keyed.images))).toBe(true);
    expect(Buffer.from(again.images).equals(Buffer.from(first.images))).toBe(true);
    // A different image (new size and time) changes the key: decoded afresh, the stale cache deleted.
    writeFileSync(victim, flatJpeg([250, 10, 10]));
    const changed = loadTinyImagenet(dataDir, 'train', { cacheFolders: cache });
    expect(Math.abs(changed.images[0] - 250)).toBeLessThanOrEqual(3);
    const after = readdirSync(cache[0]).filter((f) => f.startsWith('tiny-imagenet-200-train-'));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(cached[0]);
  });

  it('falls back to the next cache folder when the first cannot be written', () => {
    const { dataDir: dir, cache: writable } = fresh('tiny-fallback');
    // A folder below a regular file can never be created.
    const blocker = join(root, 'not-a-folder');
    writeFileSync(blocker, '');
    const set = loadTinyImagenet(dir, 'test', { cacheFolders: [join(blocker, 'cache'), writable[0]] });
    expect(set.count).toBe(5);
    expect(readdirSync(writable[0]).some((f) => f.startsWith('tiny-imagenet-200-test-'))).toBe(true);
  });

  it('caches under the data directory by default', () => {
    const { dataDir: dir } = fresh('tiny-default');
    loadTinyImagenet(dir, 'test');
    expect(readdirSync(join(dir, '.sqakd-cache')).some((f) => f.startsWith('tiny-imagenet-200-test-'))).toBe(true);
  });

  it('is what both registry entries load, which expect 200 classes', () => {
    expect(() => datasetSpec('tiny-imagenet').load(dataDir, 'train')).toThrow(/wnids\.txt lists 3 classes, expected 200/);
    expect(() => datasetSpec('tiny-imagenet-224').load(dataDir, 'test')).toThrow(/expected 200/);
  });
});

describe('Tiny-ImageNet errors', () => {
  it('names the missing folder and the setting that points at it', () => {
    expect(() => loadTinyImagenet(join(root, 'nothing'), 'train')).toThrow(
      /Tiny-ImageNet not found: expected the folder .*nothing\/tiny-imagenet-200 \(set --data-dir or SQAKD_DATA/);
  });

  it('names a JPEG that fails to decode', () => {
    const { dataDir, fixture, cache } = fresh('tiny-corrupt');
    const victim = fixture.val[3].path;
    writeFileSync(victim, readFileSync(victim).subarray(0, 200));
    expect(() => loadTinyImagenet(dataDir, 'test', { cacheFolders: cache })).toThrow(
      new RegExp(`cannot decode the JPEG ${victim.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(existsSync(cache[0])).toBe(false);
  });

  it('names a missing class folder', () => {
    const { dataDir, fixture, cache } = fresh('tiny-missing-class');
    rmSync(join(fixture.root, 'train', WNIDS[2]), { recursive: true });
    expect(() => loadTinyImagenet(dataDir, 'train', { cacheFolders: cache })).toThrow(
      new RegExp(`missing the Tiny-ImageNet folder .*train/${WNIDS[2]}/images`));
  });

  it('rejects annotations naming an unknown class or a missing image, and unannotated images', () => {
    const { dataDir, fixture, cache } = fresh('tiny-annotations');
    const annotations = join(fixture.root, 'val', 'val_annotations.txt');
    const text = readFileSync(annotations, 'utf8');
    writeFileSync(annotations, `${text}val_9.JPEG\tn99999999\t0\t0\t1\t1\n`);
    expect(() => loadTinyImagenet(dataDir, 'test', { cacheFolders: cache })).toThrow(/val_annotations\.txt line 6 is corrupt/);
    writeFileSync(annotations, `${text}val_9.JPEG\t${WNIDS[0]}\t0\t0\t1\t1\n`);
    expect(() => loadTinyImagenet(dataDir, 'test', { cacheFolders: cache })).toThrow(/labels val_9\.JPEG, which is missing from/);
    writeFileSync(annotations, text.split('\n').filter((l) => !l.startsWith('val_2.JPEG')).join('\n'));
    expect(() => loadTinyImagenet(dataDir, 'test', { cacheFolders: cache })).toThrow(/val_2\.JPEG has no line in/);
  });

  it('names a missing wnids.txt', () => {
    const { dataDir, fixture } = fresh('tiny-no-wnids');
    rmSync(join(fixture.root, 'wnids.txt'));
    expect(() => loadTinyImagenet(dataDir, 'train')).toThrow(/missing .*tiny-imagenet-200\/wnids\.txt/);
  });
});
