// The pixel work of the data pipeline, on whole batches as tensor ops (no JavaScript loop touches a pixel):
// crop with padding and flip as one pad plus two batched gathers, random-resized-crop via cropAndResize,
// colour jitter as per-image blends, resizing and normalisation. Inputs are float32 NHWC in 0..255.
import * as tf from '@tensorflow/tfjs-core';

import type { CropBox, CropFlipDraws } from './augmentation.ts';

/** Pads each image by `padding` zeros and crops it back at its drawn offset, mirrored where drawn. */
export function cropFlip(x: tf.Tensor4D, padding: number, draws: CropFlipDraws): tf.Tensor4D {
  const [batch, height, width] = x.shape;
  const padded = padding > 0 ? tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : x;
  // Index maps, not pixels: row r of image i comes from padded row top_i + r; column c from left_i + c, or from
  // left_i + width - 1 - c when the image is flipped (the flip folded into the column gather).
  const rows = new Int32Array(batch * height);
  const cols = new Int32Array(batch * width);
  for (let i = 0; i < batch; i++) {
    for (let r = 0; r < height; r++) rows[i * height + r] = draws.top[i] + r;
    for (let c = 0; c < width; c++) cols[i * width + c] = draws.left[i] + (draws.flip[i] ? width - 1 - c : c);
  }
  const tall = tf.gather(padded, tf.tensor2d(rows, [batch, height], 'int32'), 1, 1);
  return tf.gather(tall, tf.tensor2d(cols, [batch, width], 'int32'), 2, 1) as tf.Tensor4D;
}

/**
 * Crops each image to its box and resizes it to `size` (bilinear). Box corners map to output corners (TensorFlow's
 * align-corners rule); torchvision's resize uses half-pixel centres, a sub-pixel difference. A flipped box has its
 * x coordinates swapped, which cropAndResize samples right to left.
 */
export function resizedCrops(x: tf.Tensor4D, boxes: CropBox[], size: [number, number]): tf.Tensor4D {
  const [batch, height, width] = x.shape;
  const yScale = height > 1 ? 1 / (height - 1) : 0;
  const xScale = width > 1 ? 1 / (width - 1) : 0;
  const coords = new Float32Array(batch * 4);
  boxes.forEach((b, i) => {
    const x1 = b.left * xScale;
    const x2 = (b.left + b.width - 1) * xScale;
    coords.set([b.top * yScale, b.flip ? x2 : x1, (b.top + b.height - 1) * yScale, b.flip ? x1 : x2], i * 4);
  });
  const boxIndex = tf.range(0, batch, 1, 'int32') as tf.Tensor1D;
  return tf.image.cropAndResize(x, tf.tensor2d(coords, [batch, 4]), boxIndex, size, 'bilinear');
}

// ITU-R 601 luma weights, as torchvision's rgb_to_grayscale.
const LUMA = [0.299, 0.587, 0.114];

/** Brightness, contrast and saturation blends with per-image factors, clamped to 0..255 after each as torchvision. */
export function colourJitter(x: tf.Tensor4D, factors: Float32Array[]): tf.Tensor4D {
  const batch = x.shape[0];
  const [brightness, contrast, saturation] = factors.map((f) => tf.tensor4d(f, [batch, 1, 1, 1]));
  const gray = (t: tf.Tensor4D) => tf.sum(tf.mul(t, tf.tensor1d(LUMA)), 3, true) as tf.Tensor4D;
  let y = tf.clipByValue(tf.mul(x, brightness), 0, 255) as tf.Tensor4D;
  const mean = tf.mean(gray(y), [1, 2, 3], true);
  y = tf.clipByValue(tf.add(tf.mul(tf.sub(y, mean), contrast), mean), 0, 255) as tf.Tensor4D;
  const g = gray(y);
  return tf.clipByValue(tf.add(tf.mul(tf.sub(y, g), saturation), g), 0, 255) as tf.Tensor4D;
}

/** Resizes a batch to `size` (bilinear, half-pixel centres as PIL/torchvision). */
export function resize(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return tf.image.resizeBilinear(x, size, false, true);
}

/** (x / 255 - mean) / std per channel, computed as one multiply-add: x * (1 / (255 std)) - mean / std. */
export function normalise(x: tf.Tensor4D, mean: number[], std: number[]): tf.Tensor4D {
  const scale = tf.tensor1d(std.map((s) => 1 / (255 * s)));
  const offset = tf.tensor1d(mean.map((m, c) => -m / std[c]));
  return tf.add(tf.mul(x, scale), offset) as tf.Tensor4D;
}
