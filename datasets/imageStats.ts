// Summaries of an ImageSet for `sqakd data check` and the tests: per-channel means and the label histogram.
import type { ImageSet } from './imageSet.ts';

/** The mean of each channel over all pixels of all images, in 0..255. */
export function channelMeans(set: ImageSet): number[] {
  // Integer sums are exact (a 1.2 GB set sums to well under 2^53), so means match published values to the digit.
  const sums = new Array<number>(set.channels).fill(0);
  const { images, channels } = set;
  for (let i = 0; i < images.length; i += channels) {
    for (let c = 0; c < channels; c++) sums[c] += images[i + c];
  }
  const pixels = images.length / channels;
  return sums.map((s) => s / pixels);
}

/** How many images carry each label. */
export function labelHistogram(set: ImageSet): number[] {
  const counts = new Array<number>(set.classes).fill(0);
  for (const label of set.labels) counts[label]++;
  return counts;
}
