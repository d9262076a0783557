// Writes a small Tiny-ImageNet folder in the real layout (wnids.txt, train/<wnid>/images/*.JPEG,
// val/images/*.JPEG with val/val_annotations.txt): flat-colour 64x64 JPEGs encoded with jpeg-js, plus one true
// grayscale (single-component) JPEG, and returns what each image should decode to.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import jpeg from 'jpeg-js';

import { encodeFlatGrayJpeg } from './grayJpeg.ts';

export const SIDE = 64;
export const WNIDS = ['n01443537', 'n01629819', 'n01641577'];
export const TRAIN_PER_CLASS = 3;
export const GRAY_LEVEL = 77;

export interface ExpectedImage {
  path: string;
  label: number;
  /** The flat RGB colour the image was encoded with. */
  rgb: [number, number, number];
}

export interface Fixture {
  root: string;
  train: ExpectedImage[];
  val: ExpectedImage[];
}

/** A flat-colour 64x64 JPEG (quality 100). */
export function flatJpeg(rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(SIDE * SIDE * 4);
  for (let p = 0; p < SIDE * SIDE; p++) data.set([...rgb, 255], p * 4);
  return jpeg.encode({ width: SIDE, height: SIDE, data }, 100).data;
}

function colourOf(label: number, k: number): [number, number, number] {
  return [40 + 70 * label, 200 - 50 * k, 90 + 30 * ((label + k) % 3)];
}

/** Writes the fixture under `dataDir`/tiny-imagenet-200. The last train image of class 1 is grayscale. */
export function writeTinyImagenet(dataDir: string): Fixture {
  const root = join(dataDir, 'tiny-imagenet-200');
  const train: ExpectedImage[] = [];
  writeFile(join(root, 'wnids.txt'), `${WNIDS.join('\n')}\n`);
  WNIDS.forEach((wnid, label) => {
    for (let k = 0; k < TRAIN_PER_CLASS; k++) {
      const path = join(root, 'train', wnid, 'images', `${wnid}_${k}.JPEG`);
      const gray = label === 1 && k === TRAIN_PER_CLASS - 1;
      const rgb: [number, number, number] = gray ? [GRAY_LEVEL, GRAY_LEVEL, GRAY_LEVEL] : colourOf(label, k);
      writeFile(path, gray ? encodeFlatGrayJpeg(SIDE, SIDE, () => GRAY_LEVEL) : flatJpeg(rgb));
      train.push({ path, label, rgb });
    }
    // The real folders also hold a boxes file beside images/, which the loader must ignore.
    writeFile(join(root, 'train', wnid, `${wnid}_boxes.txt`), `${wnid}_0.JPEG\t0\t0\t63\t63\n`);
  });
  // Validation labels are listed out of order, as in the real annotations file.
  const valLabels = [2, 0, 1, 1, 0];
  const val: ExpectedImage[] = valLabels.map((label, i) => ({
    path: join(root, 'val', 'images', `val_${i}.JPEG`), label, rgb: colourOf(label, i % 3),
  }));
  for (const image of val) writeFile(image.path, flatJpeg(image.rgb));
  const lines = valLabels.map((label, i) => `val_${i}.JPEG\t${WNIDS[label]}\t0\t0\t63\t63`).reverse();
  writeFile(join(root, 'val', 'val_annotations.txt'), `${lines.join('\n')}\n`);
  return { root, train, val };
}

function writeFile(path: string, data: string | Uint8Array): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
}
