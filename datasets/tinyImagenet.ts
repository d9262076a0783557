// Tiny-ImageNet in its standard folder layout (tiny-imagenet-200/ as unzipped from cs231n): wnids.txt lists the
// classes in label order; train/<wnid>/images/*.JPEG are the training images; val/images/*.JPEG, labelled by
// val/val_annotations.txt, are the 'test' split (the official test set has no labels). The 64x64 JPEGs are decoded
// once into a pixel cache keyed by the file list.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { datasetFolder } from './dataDir.ts';
import type { ImageSet, Split } from './imageSet.ts';
import { decodeJpegRgb } from './jpeg.ts';
import { cacheFolders, cachedImageSet } from './pixelCache.ts';

export const TINY_IMAGENET_FOLDER = 'tiny-imagenet-200';
const SIDE = 64;
const PIXELS = SIDE * SIDE * 3;
const JPEG = /\.jpe?g$/i;
// Decoding prints a note above this many files: the first load of the real set takes minutes.
const ANNOUNCE_ABOVE = 2000;

export interface TinyImagenetOptions {
  /** Classes wnids.txt must list (200 for the real set); unchecked when absent. */
  expectClasses?: number;
  /** Where decoded pixels are cached; default: under the data directory, else os.tmpdir(). */
  cacheFolders?: string[];
}

interface Listing {
  files: string[];
  labels: Uint8Array;
  classes: number;
}

/** Loads one split of Tiny-ImageNet (test = the labelled validation set) as 64x64 RGB. */
export function loadTinyImagenet(dataDir: string, split: Split, options: TinyImagenetOptions = {}): ImageSet {
  const root = datasetFolder(dataDir, TINY_IMAGENET_FOLDER, 'Tiny-ImageNet');
  const wnids = readWnids(root, options.expectClasses);
  const listing = split === 'train' ? listTrain(root, wnids) : listVal(root, wnids);
  const key = listingKey(root, listing);
  return cachedImageSet(options.cacheFolders ?? cacheFolders(dataDir), `${TINY_IMAGENET_FOLDER}-${split}`, key,
    () => decodeAll(listing, split));
}

function readWnids(root: string, expectClasses: number | undefined): string[] {
  const path = join(root, 'wnids.txt');
  if (!existsSync(path)) throw new Error(`missing ${path} (the list of Tiny-ImageNet class ids, one per line)`);
  const wnids = readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (wnids.length === 0) throw new Error(`${path} lists no classes`);
  if (wnids.length > 256) throw new Error(`${path} lists ${wnids.length} classes; labels are stored as bytes (at most 256)`);
  if (expectClasses !== undefined && wnids.length !== expectClasses) {
    throw new Error(`${path} lists ${wnids.length} classes, expected ${expectClasses} (truncated?)`);
  }
  const duplicate = wnids.find((w, i) => wnids.indexOf(w) !== i);
  if (duplicate) throw new Error(`${path} lists the class ${duplicate} twice`);
  return wnids;
}

function jpegsIn(folder: string): string[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error(`missing the Tiny-ImageNet folder ${folder}`);
  // Sorted so that image order, and with it every seeded shuffle, is the same on every machine.
  return readdirSync(folder).filter((f) => JPEG.test(f)).sort().map((f) => join(folder, f));
}

function listTrain(root: string, wnids: string[]): Listing {
  const files: string[] = [];
  const labels: number[] = [];
  wnids.forEach((wnid, label) => {
    const folder = join(root, 'train', wnid, 'images');
    const images = jpegsIn(folder);
    if (images.length === 0) throw new Error(`the Tiny-ImageNet folder ${folder} holds no JPEG images`);
    files.push(...images);
    for (let i = 0; i < images.length; i++) labels.push(label);
  });
  return { files, labels: Uint8Array.from(labels), classes: wnids.length };
}

function listVal(root: string, wnids: string[]): Listing {
  const annotations = join(root, 'val', 'val_annotations.txt');
  if (!existsSync(annotations)) throw new Error(`missing ${annotations} (the labels of the Tiny-ImageNet validation images)`);
  const labelOf = new Map(wnids.map((w, i) => [w, i]));
  const byFile = new Map<string, number>();
  readFileSync(annotations, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const [file, wnid] = line.split('\t');
    const label = labelOf.get(wnid);
    if (!file || label === undefined) {
      throw new Error(`${annotations} line ${i + 1} is corrupt: expected '<file>\\t<wnid>\\t...' with a wnid from ` +
        `wnids.txt, got '${line.slice(0, 80)}'`);
    }
    byFile.set(file, label);
  });
  const folder = join(root, 'val', 'images');
  const files = jpegsIn(folder);
  const labels = new Uint8Array(files.length);
  files.forEach((path, i) => {
    const name = relative(folder, path);
    const label = byFile.get(name);
    if (label === undefined) throw new Error(`${path} has no line in ${annotations}`);
    labels[i] = label;
    byFile.delete(name);
  });
  const [missing] = byFile.keys();
  if (missing !== undefined) throw new Error(`${annotations} labels ${missing}, which is missing from ${folder}`);
  return { files, labels, classes: wnids.length };
}

/** Identifies the listing: class order, labels, and each file's path, size and modification time. */
function listingKey(root: string, listing: Listing): string {
  const hash = createHash('sha256');
  hash.update(`classes ${listing.classes}\n`);
  hash.update(listing.labels);
  for (const file of listing.files) {
    const s = statSync(file);
    hash.update(`${relative(root, file)}\t${s.size}\t${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function decodeAll(listing: Listing, split: Split): ImageSet {
  const count = listing.files.length;
  if (count > ANNOUNCE_ABOVE) {
    console.error(`sqakd: decoding ${count} Tiny-ImageNet ${split} JPEGs once (cached for later runs)`);
  }
  const images = new Uint8Array(count * PIXELS);
  listing.files.forEach((file, i) => {
    images.set(decodeJpegRgb(readFileSync(file), file, { height: SIDE, width: SIDE }), i * PIXELS);
  });
  return { images, labels: listing.labels, count, height: SIDE, width: SIDE, channels: 3, classes: listing.classes };
}
