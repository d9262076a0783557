// Image resizing (bilinear, nearest neighbour) with tfjs's coordinate rules, their gradients, and flips.
// Resizing is separable: the addon interpolates along H, then along W, from index/weight maps computed here.
// The gradients are the exact transposes of the forward maps. (tfjs's cpu ResizeBilinearGrad ignores
// halfPixelCenters and swaps height and width in its output shape; these do not.) CropAndResize (the data
// loader's random-resized-crop) computes its per-box sample positions natively, from the boxes tensor.
import {
  CropAndResize, FlipLeftRight, ResizeBilinear, ResizeBilinearGrad, ResizeNearestNeighbor, ResizeNearestNeighborGrad,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import type { Packed } from '../addon.ts';
import type { LibtorchBackend } from '../backend.ts';
import { kernel } from './kernel.ts';

/** Source positions of each output index along one axis: floor/ceil neighbours and the weight of the ceil one. */
export interface AxisMap {
  i0: number[];
  i1: number[];
  frac: number[] | null;
}

function sizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  const aligned = alignCorners && outSize > 1;
  return (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
}

/** The bilinear map of tfjs's ResizeBilinear along one axis. */
export function bilinearMap(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): AxisMap {
  const ratio = sizeRatio(inSize, outSize, alignCorners);
  const map: AxisMap = { i0: [], i1: [], frac: [] };
  for (let i = 0; i < outSize; i++) {
    const source = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    const lo = Math.max(0, Math.floor(source));
    map.i0.push(lo);
    map.i1.push(Math.min(inSize - 1, Math.ceil(source)));
    map.frac!.push(source - lo);
  }
  return map;
}

/** The nearest-neighbour map of tfjs's ResizeNearestNeighbor along one axis. */
export function nearestMap(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): AxisMap {
  const ratio = sizeRatio(inSize, outSize, alignCorners);
  const i0: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const source = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let nearest = Math.min(inSize - 1, alignCorners ? Math.round(source) : Math.floor(source));
    if (halfPixelCenters) nearest = Math.max(0, nearest);
    i0.push(nearest);
  }
  return { i0, i1: i0, frac: null };
}

type MapFn = typeof bilinearMap;

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
  size: [number, number];
}

/** The maps are built from these shapes' H and W, so anything but NHWC images would make nonsense maps. */
function checkRank4(tensors: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.shape.length !== 4) throw new Error(`${name} must be rank 4 (NHWC), got shape [${t.shape}]`);
  }
}

function resize(map: MapFn) {
  return ({ images }: { images: TensorInfo }, attrs: ResizeAttrs, b: LibtorchBackend) => {
    checkRank4({ images });
    const [, inH, inW] = images.shape;
    const [outH, outW] = attrs.size;
    const rows = map(inH, outH, attrs.alignCorners, attrs.halfPixelCenters);
    const cols = map(inW, outW, attrs.alignCorners, attrs.halfPixelCenters);
    const tall = b.addon.interpAxis(b.handle(images), 1, rows.i0, rows.i1, rows.frac);
    return b.output(releaseAfter(b, tall, b.addon.interpAxis(tall[0], 2, cols.i0, cols.i1, cols.frac)));
  };
}

function resizeGrad(map: MapFn) {
  return ({ images, dy }: { images: TensorInfo; dy: TensorInfo }, attrs: ResizeAttrs, b: LibtorchBackend) => {
    checkRank4({ images, dy });
    if (images.shape[0] !== dy.shape[0] || images.shape[3] !== dy.shape[3]) {
      throw new Error(`dy [${dy.shape}] must have the batch size and channels of images [${images.shape}]`);
    }
    const [, inH, inW] = images.shape;
    const [, outH, outW] = dy.shape;
    const rows = map(inH, outH, attrs.alignCorners, attrs.halfPixelCenters);
    const cols = map(inW, outW, attrs.alignCorners, attrs.halfPixelCenters);
    const narrow = b.addon.interpAxisGrad(b.handle(dy), 2, inW, cols.i0, cols.i1, cols.frac);
    return b.output(releaseAfter(b, narrow, b.addon.interpAxisGrad(narrow[0], 1, inH, rows.i0, rows.i1, rows.frac)));
  };
}

interface CropAndResizeAttrs {
  cropSize: [number, number];
  method: 'bilinear' | 'nearest';
  extrapolationValue: number;
}

function releaseAfter(b: LibtorchBackend, intermediate: Packed, result: Packed): Packed {
  b.addon.release(intermediate[0]);
  return result;
}

export const imageKernels = [
  kernel(ResizeBilinear, resize(bilinearMap)),
  kernel(ResizeBilinearGrad, resizeGrad(bilinearMap)),
  kernel(ResizeNearestNeighbor, resize(nearestMap)),
  kernel(ResizeNearestNeighborGrad, resizeGrad(nearestMap)),
  kernel(CropAndResize, ({ image, boxes, boxInd }, attrs: CropAndResizeAttrs, b) =>
    b.output(b.addon.cropAndResize(b.handle(image), b.handle(boxes), b.handle(boxInd), attrs.cropSize[0],
      attrs.cropSize[1], attrs.method === 'nearest', attrs.extrapolationValue))),
  kernel(FlipLeftRight, ({ image }, _attrs, b) => b.output(b.addon.reverse(b.handle(image), [2]))),
];
