// MaxPool, AvgPool and their gradients (NHWC), with tfjs's pooling geometry.
import { AvgPool, AvgPoolGrad, backend_util, MaxPool, MaxPoolGrad, type TensorInfo } from '@tensorflow/tfjs-core';

import type { LibtorchBackend } from '../backend.ts';
import { explicitPadding, type Pad } from './convolution.ts';
import { kernel } from './kernel.ts';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * [filterH, filterW, strideH, strideW, top, bottom, left, right] for the addon. The gradients pass dy's shape:
 * tfjs's MaxPool and AvgPool gradients drop the forward's dimRoundingMode, and dy still has the rounded-up size.
 */
function poolWindow(xShape: number[], attrs: PoolAttrs, dyShape?: number[]): number[] {
  const info = backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize,
    attrs.strides, 1, explicitPadding(attrs.pad), attrs.dimRoundingMode);
  const p = info.padInfo;
  const outHeight = dyShape ? dyShape[1] : info.outHeight;
  const outWidth = dyShape ? dyShape[2] : info.outWidth;
  // Extra bottom/right padding where a rounding mode asks for more output than the padding yields.
  const bottom = p.bottom + Math.max(0, (outHeight - 1) * info.strideHeight + info.filterHeight - (info.inHeight + p.top + p.bottom));
  const right = p.right + Math.max(0, (outWidth - 1) * info.strideWidth + info.filterWidth - (info.inWidth + p.left + p.right));
  return [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, bottom, p.left, right];
}

type Input = { x: TensorInfo };
type GradInput = { dy: TensorInfo; input: TensorInfo };

export const poolingKernels = [
  kernel(MaxPool, ({ x }: Input, attrs: PoolAttrs, b: LibtorchBackend) =>
    b.output(b.addon.maxPool(b.handle(x), poolWindow(x.shape, attrs)))),
  kernel(AvgPool, ({ x }: Input, attrs: PoolAttrs, b: LibtorchBackend) =>
    b.output(b.addon.avgPool(b.handle(x), poolWindow(x.shape, attrs)))),
  kernel(MaxPoolGrad, ({ dy, input }: GradInput, attrs: PoolAttrs, b: LibtorchBackend) =>
    b.output(b.addon.maxPoolGrad(b.handle(dy), b.handle(input), poolWindow(input.shape, attrs, dy.shape)))),
  kernel(AvgPoolGrad, ({ dy, input }: GradInput, attrs: PoolAttrs, b: LibtorchBackend) =>
    b.output(b.addon.avgPoolGrad(b.handle(dy), b.handle(input), poolWindow(input.shape, attrs, dy.shape)))),
];
