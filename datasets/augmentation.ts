// What the training loader does to a batch, and the per-image random draws for it. The draws are plain numbers
// (a few per image, from a stream seeded by seed, epoch and batch); the pixel work is done on whole batches by
// tensor ops in batchTransforms.ts.
import { randomInt } from './random.ts';

/** CIFAR-style: pad by `padding` zero pixels, crop back to size at a random offset; optional horizontal flip. */
export interface CropFlip {
  kind: 'crop-flip';
  padding: number;
  flip: boolean;
}

/** Colour jitter strengths: each factor is drawn from [1 - s, 1 + s] (torchvision's ColorJitter without hue). */
export interface ColourJitter {
  brightness: number;
  contrast: number;
  saturation: number;
}

/** ImageNet-style: a random box of the given area fraction and aspect ratio, resized to the model's size. */
export interface RandomResizedCrop {
  kind: 'random-resized-crop';
  scale: [number, number];
  ratio: [number, number];
  flip: boolean;
  jitter?: ColourJitter;
}

export type Augmentation = { kind: 'none' } | CropFlip | RandomResizedCrop;

/** Per-image draws of a crop-flip batch: offsets into the padded image and whether to mirror. */
export interface CropFlipDraws {
  top: Int32Array;
  left: Int32Array;
  flip: Uint8Array;
}

/** Draws crop offsets in [0, 2 * padding] and flips (probability 1/2) for `count` images. */
export function drawCropFlip(aug: CropFlip, count: number, uniform: () => number): CropFlipDraws {
  const draws = { top: new Int32Array(count), left: new Int32Array(count), flip: new Uint8Array(count) };
  for (let i = 0; i < count; i++) {
    draws.top[i] = randomInt(uniform, 0, 2 * aug.padding);
    draws.left[i] = randomInt(uniform, 0, 2 * aug.padding);
    draws.flip[i] = aug.flip && uniform() < 0.5 ? 1 : 0;
  }
  return draws;
}

/** A crop in pixels of the source image: rows top..top+height-1, columns left..left+width-1. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
  flip: boolean;
}

/**
 * Draws one random-resized-crop box as torchvision's RandomResizedCrop.get_params does: up to 10 tries of an area
 * fraction in `scale` and a log-uniform aspect ratio in `ratio`, else the largest centred box whose ratio is in range.
 */
export function drawResizedCrop(aug: RandomResizedCrop, height: number, width: number, uniform: () => number): CropBox {
  const flip = aug.flip && uniform() < 0.5;
  const area = height * width;
  const [logLo, logHi] = [Math.log(aug.ratio[0]), Math.log(aug.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (aug.scale[0] + (aug.scale[1] - aug.scale[0]) * uniform());
    const ratio = Math.exp(logLo + (logHi - logLo) * uniform());
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { top: randomInt(uniform, 0, height - h), left: randomInt(uniform, 0, width - w), height: h, width: w, flip };
    }
  }
  const inRatio = width / height;
  let [h, w] = [height, width];
  if (inRatio < aug.ratio[0]) h = Math.round(width / aug.ratio[0]);
  else if (inRatio > aug.ratio[1]) w = Math.round(height * aug.ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, flip };
}

/** Per-image colour factors (brightness, contrast, saturation), each uniform in [1 - s, 1 + s]. */
export function drawJitter(jitter: ColourJitter, count: number, uniform: () => number): Float32Array[] {
  return [jitter.brightness, jitter.contrast, jitter.saturation].map((s) =>
    Float32Array.from({ length: count }, () => 1 - s + 2 * s * uniform()));
}
