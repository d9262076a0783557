// CIFAR-10 and CIFAR-100 in their binary layout (the "binary version" archives from cs.toronto.edu). Each record
// is the label byte(s), then 3072 pixel bytes: a 32x32 row-major red plane, then green, then blue. Files are
// checked for exact sizes and record counts and labels for their range, then converted once to NHWC.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { datasetFolder } from './dataDir.ts';
import type { ImageSet, Split } from './imageSet.ts';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;

interface CifarLayout {
  dataset: string;
  folder: string;
  /** Label bytes before the pixels of each record. */
  labelBytes: number;
  /** Which of those bytes is the label used (CIFAR-100: the fine label, after the coarse one). */
  labelByte: number;
  classes: number;
  files: Record<Split, string[]>;
  /** Records each file must hold. */
  recordsPerFile: Record<Split, number>;
}

const CIFAR10: CifarLayout = {
  dataset: 'CIFAR-10',
  folder: 'cifar-10-batches-bin',
  labelBytes: 1,
  labelByte: 0,
  classes: 10,
  files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
  recordsPerFile: { train: 10_000, test: 10_000 },
};

const CIFAR100: CifarLayout = {
  dataset: 'CIFAR-100',
  folder: 'cifar-100-binary',
  labelBytes: 2,
  labelByte: 1,
  classes: 100,
  files: { train: ['train.bin'], test: ['test.bin'] },
  recordsPerFile: { train: 50_000, test: 10_000 },
};

/** Loads one split of CIFAR-10 from <dataDir>/cifar-10-batches-bin/. */
export function loadCifar10(dataDir: string, split: Split): ImageSet {
  return loadCifar(CIFAR10, dataDir, split);
}

/** Loads one split of CIFAR-100 (fine labels) from <dataDir>/cifar-100-binary/. */
export function loadCifar100(dataDir: string, split: Split): ImageSet {
  return loadCifar(CIFAR100, dataDir, split);
}

function loadCifar(layout: CifarLayout, dataDir: string, split: Split): ImageSet {
  const folder = datasetFolder(dataDir, layout.folder, layout.dataset);
  const perFile = layout.recordsPerFile[split];
  const count = perFile * layout.files[split].length;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  layout.files[split].forEach((name, k) => {
    const bytes = readRecords(layout, folder, name, perFile);
    decodeRecords(layout, bytes, join(folder, name), images, labels, k * perFile, perFile);
  });
  return { images, labels, count, height: SIDE, width: SIDE, channels: 3, classes: layout.classes };
}

function readRecords(layout: CifarLayout, folder: string, name: string, records: number): Uint8Array {
  const path = join(folder, name);
  if (!existsSync(path)) {
    throw new Error(`missing ${layout.dataset} file ${path} (${folder} must hold ` +
      `${[...layout.files.train, ...layout.files.test].join(', ')})`);
  }
  const bytes = readFileSync(path);
  const recordSize = layout.labelBytes + PIXELS;
  if (bytes.length % recordSize !== 0) {
    throw new Error(`${path} is truncated or corrupt: ${bytes.length} bytes is not a whole number of ` +
      `${recordSize}-byte ${layout.dataset} records`);
  }
  if (bytes.length / recordSize !== records) {
    throw new Error(`${path} holds ${bytes.length / recordSize} ${layout.dataset} records, expected ${records} ` +
      `(${records < bytes.length / recordSize ? 'not the official file' : 'truncated'})`);
  }
  return bytes;
}

/** Copies `records` records into NHWC images starting at image `first`, checking each label. */
function decodeRecords(layout: CifarLayout, bytes: Uint8Array, path: string, images: Uint8Array, labels: Uint8Array,
  first: number, records: number): void {
  const recordSize = layout.labelBytes + PIXELS;
  for (let r = 0; r < records; r++) {
    const base = r * recordSize;
    const label = bytes[base + layout.labelByte];
    if (label >= layout.classes) {
      throw new Error(`${path} is corrupt: record ${r} has label ${label}, outside 0..${layout.classes - 1}`);
    }
    labels[first + r] = label;
    // Planes to interleaved channels: a one-time conversion at load, so batches are plain NHWC slices.
    const red = base + layout.labelBytes;
    let out = (first + r) * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      images[out++] = bytes[red + p];
      images[out++] = bytes[red + PLANE + p];
      images[out++] = bytes[red + 2 * PLANE + p];
    }
  }
}
