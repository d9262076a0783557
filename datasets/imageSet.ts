// An in-memory image-classification split: uint8 pixels in NHWC order and one label per image.
export interface ImageSet {
  /** count * height * width * channels bytes, NHWC. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
}

export type Split = 'train' | 'test';

/** The first `count` images of a split (a quick look at a large dataset); a view, no copy. */
export function firstImages(set: ImageSet, count: number | undefined): ImageSet {
  if (count === undefined || count === set.count) return set;
  if (!Number.isInteger(count) || count < 1 || count > set.count) {
    throw new Error(`--train-images must be an integer from 1 to ${set.count} (the split's size), got ${count}`);
  }
  const perImage = set.height * set.width * set.channels;
  return { ...set, images: set.images.subarray(0, count * perImage), labels: set.labels.subarray(0, count), count };
}
