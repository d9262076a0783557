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
