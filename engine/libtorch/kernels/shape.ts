// Kernels that rearrange data: reshape, transpose, slicing, joining, splitting, gathering, scattering, padding.
import {
  backend_util, BroadcastTo, Concat, ExpandDims, GatherNd, GatherV2, MirrorPad, OneHot, Pack, PadV2, Reshape, Reverse,
  ScatterNd, Slice, slice_util, SplitV, StridedSlice, type TensorInfo, Tile, Transpose, Unpack, UnsortedSegmentSum,
  util,
} from '@tensorflow/tfjs-core';

import { storedCode } from './elementwise.ts';
import { kernel } from './kernel.ts';

/**
 * Elements taken along each dimension of x by a strided slice. (sliceInfo's finalShapeSparse leaves out the
 * dimensions a shrink-axis mask removes, so it cannot be matched with begin and strides dimension by dimension.)
 */
function stridedSizes(info: { begin: number[]; end: number[]; strides: number[] }): number[] {
  return info.begin.map((begin, d) => Math.max(0, Math.ceil((info.end[d] - begin) / info.strides[d])));
}

export const shapeKernels = [
  kernel(Reshape, ({ x }, { shape }, b) =>
    b.output(b.addon.reshape(b.handle(x), util.inferFromImplicitShape(shape, util.sizeFromShape(x.shape))))),
  // tfjs's expandDims op runs this kernel (tfjs's UnsortedSegmentSum gradient uses it, for one).
  kernel(ExpandDims, ({ input }, { dim }, b) => {
    const axis = dim < 0 ? input.shape.length + 1 + dim : dim;
    return b.output(b.addon.reshape(b.handle(input), [...input.shape.slice(0, axis), 1, ...input.shape.slice(axis)]));
  }),
  kernel(Transpose, ({ x }, { perm }, b) => b.output(b.addon.transpose(b.handle(x), perm))),
  kernel(Slice, ({ x }, { begin, size }, b) => {
    const [start, length] = slice_util.parseSliceParams(x, begin, size);
    slice_util.assertParamsValid(x, start, length);
    return b.output(b.addon.slice(b.handle(x), start, length));
  }),
  kernel(StridedSlice, ({ x }, attrs, b) => {
    const info = slice_util.sliceInfo(x.shape, attrs.begin, attrs.end, attrs.strides, attrs.beginMask, attrs.endMask,
      attrs.ellipsisMask, attrs.newAxisMask, attrs.shrinkAxisMask);
    return b.output(b.addon.stridedSlice(b.handle(x), info.begin, info.strides, stridedSizes(info), info.finalShape));
  }),
  kernel(Concat, (inputs: TensorInfo[], { axis }, b) => {
    const dim = util.parseAxisParam(axis, inputs[0].shape)[0];
    const shape = backend_util.computeOutShape(inputs.map((t) => t.shape), dim);
    const nonEmpty = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (nonEmpty.length === 0) return b.output(b.addon.fill(shape, 0, storedCode(inputs[0].dtype)));
    return b.output(b.addon.concat(nonEmpty.map((t) => b.handle(t)), dim));
  }),
  kernel(Pack, (inputs: TensorInfo[], { axis }, b) => b.output(b.addon.stack(inputs.map((t) => b.handle(t)), axis))),
  kernel(Unpack, ({ value }, { axis }, b) =>
    b.addon.unstack(b.handle(value), util.parseAxisParam(axis, value.shape)[0]).map((p) => b.output(p))),
  kernel(SplitV, ({ x }, { numOrSizeSplits, axis }, b) => {
    const dim = util.parseAxisParam(axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, dim);
    return b.addon.split(b.handle(x), sizes, dim).map((p) => b.output(p));
  }),
  kernel(GatherV2, ({ x, indices }, { axis, batchDims }, b) => {
    // A negative batchDims counts from the end of indices' dimensions, as in tfjs's cpu kernel.
    const batch = (batchDims ?? 0) < 0 ? batchDims + indices.shape.length : batchDims ?? 0;
    return b.output(b.addon.gather(b.handle(x), b.handle(indices), util.parseAxisParam(axis, x.shape)[0], batch));
  }),
  kernel(GatherNd, ({ params, indices }, _attrs, b) => b.output(b.addon.gatherNd(b.handle(params), b.handle(indices)))),
  kernel(ScatterNd, ({ indices, updates }, { shape }, b) =>
    b.output(b.addon.scatterNd(b.handle(indices), b.handle(updates), shape))),
  kernel(Tile, ({ x }, { reps }, b) => b.output(b.addon.tile(b.handle(x), reps))),
  kernel(Reverse, ({ x }, { dims }, b) => b.output(b.addon.reverse(b.handle(x), util.parseAxisParam(dims, x.shape)))),
  kernel(PadV2, ({ x }, { paddings, constantValue }, b) =>
    b.output(b.addon.pad(b.handle(x), (paddings as number[][]).flat(), constantValue))),
  kernel(MirrorPad, ({ x }, { paddings, mode }, b) =>
    b.output(b.addon.mirrorPad(b.handle(x), (paddings as number[][]).flat(), mode === 'symmetric'))),
  kernel(BroadcastTo, ({ x }, { shape }, b) => b.output(b.addon.broadcastTo(b.handle(x), shape))),
  kernel(UnsortedSegmentSum, ({ x, segmentIds }, { numSegments }, b) =>
    b.output(b.addon.unsortedSegmentSum(b.handle(x), b.handle(segmentIds), numSegments))),
  kernel(OneHot, ({ indices }, { depth, onValue, offValue, dtype }, b) =>
    b.output(b.addon.oneHot(b.handle(indices), depth, onValue, offValue, storedCode(dtype ?? 'int32')))),
];
