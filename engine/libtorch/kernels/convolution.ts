// Conv2D, DepthwiseConv2dNative, their backprop kernels and fused (bias + activation) forms. Geometry comes from
// tfjs's own computeConv2DInfo so that every padding mode ('same', 'valid', numbers, explicit, rounding modes)
// gives tfjs's output shape.
import {
  backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, FusedConv2D, FusedDepthwiseConv2D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import type { LibtorchBackend } from '../backend.ts';
import { applyFusedTail } from './fusedActivation.ts';
import { kernel } from './kernel.ts';

export type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Pair = number | [number, number];
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: Pair;
  dimRoundingMode?: RoundingMode;
}

/**
 * [strideH, strideW, dilationH, dilationW, top, bottom, left, right, nchw] for the addon. The backprop kernels
 * pass dy's spatial size: tfjs's Conv2D gradient drops the forward's dimRoundingMode, and dy still has the
 * rounded-up size.
 */
export function convGeometry(info: backend_util.Conv2DInfo, dySize?: [number, number]): number[] {
  const { padInfo: p } = info;
  const [outHeight, outWidth] = dySize ?? [info.outHeight, info.outWidth];
  // With a 'ceil'/'round' dimRoundingMode tfjs may expect one more output row/column than the padding yields;
  // padding the bottom/right makes ATen produce it.
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const bottom = p.bottom + Math.max(0, (outHeight - 1) * info.strideHeight + effH - (info.inHeight + p.top + p.bottom));
  const right = p.right + Math.max(0, (outWidth - 1) * info.strideWidth + effW - (info.inWidth + p.left + p.right));
  return [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, p.top, bottom, p.left, right,
    info.dataFormat === 'channelsFirst' ? 1 : 0];
}

/**
 * A numeric padding written out explicitly. tfjs sizes a numeric padding's output width with the filter height
 * and stride height (conv_util's computeOutputShape2D), which is wrong for non-square windows or strides; the
 * explicit form is sized per dimension, with the same rounding mode.
 */
export function explicitPadding(pad: Pad, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): Pad {
  if (typeof pad !== 'number') return pad;
  const spatial: [number, number] = [pad, pad];
  return dataFormat === 'NHWC' ? [[0, 0], spatial, spatial, [0, 0]] : [[0, 0], [0, 0], spatial, spatial];
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs, depthwise: boolean) {
  const dataFormat = attrs.dataFormat ?? 'NHWC';
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides,
    attrs.dilations ?? 1, explicitPadding(attrs.pad, dataFormat), attrs.dimRoundingMode, depthwise,
    backend_util.convertConv2DDataFormat(dataFormat));
}

function forward(depthwise: boolean) {
  return ({ x, filter }: { x: TensorInfo; filter: TensorInfo }, attrs: ConvAttrs, b: LibtorchBackend, bias?: TensorInfo) => {
    const info = convInfo(x.shape, filter.shape, attrs, depthwise);
    return b.addon.conv2d(b.handle(x), b.handle(filter), convGeometry(info), depthwise, bias ? b.handle(bias) : null);
  };
}

/** dy's spatial size, in either data format. */
function spatialSize(dy: TensorInfo, attrs: ConvAttrs): [number, number] {
  return attrs.dataFormat === 'NCHW' ? [dy.shape[2], dy.shape[3]] : [dy.shape[1], dy.shape[2]];
}

function backpropInput(depthwise: boolean) {
  return ({ dy, filter }: { dy: TensorInfo; filter: TensorInfo }, attrs: ConvAttrs & { inputShape: number[] },
    b: LibtorchBackend) => {
    const geometry = convGeometry(convInfo(attrs.inputShape, filter.shape, attrs, depthwise), spatialSize(dy, attrs));
    return b.output(b.addon.conv2dBackpropInput(b.handle(dy), b.handle(filter), attrs.inputShape, geometry, depthwise));
  };
}

function backpropFilter(depthwise: boolean) {
  return ({ x, dy }: { x: TensorInfo; dy: TensorInfo }, attrs: ConvAttrs & { filterShape: number[] },
    b: LibtorchBackend) => {
    const geometry = convGeometry(convInfo(x.shape, attrs.filterShape, attrs, depthwise), spatialSize(dy, attrs));
    return b.output(b.addon.conv2dBackpropFilter(b.handle(x), b.handle(dy), attrs.filterShape, geometry, depthwise));
  };
}

function fused(depthwise: boolean) {
  const conv = forward(depthwise);
  return (inputs: { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
    attrs: ConvAttrs & { activation: string; leakyreluAlpha?: number }, b: LibtorchBackend) => {
    // A bias of one value per output channel is added by the convolution itself; other broadcasts by the tail.
    const [, , inChannels, outOrMultiplier] = inputs.filter.shape;
    const outChannels = depthwise ? inChannels * outOrMultiplier : outOrMultiplier;
    const perChannel = inputs.bias && inputs.bias.dtype === 'float32' && inputs.bias.shape.length === 1 &&
      inputs.bias.shape[0] === outChannels ? inputs.bias : undefined;
    const tailBias = perChannel ? undefined : inputs.bias;
    const nchwBias = attrs.dataFormat === 'NCHW' && tailBias && tailBias.shape.length === 1 && tailBias.shape[0] !== 1;
    return applyFusedTail(b, conv(inputs, attrs, b, perChannel), {
      ...inputs, bias: tailBias, activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha,
      biasShape: nchwBias ? [-1, 1, 1] : undefined,
    });
  };
}

export const convolutionKernels = [
  kernel(Conv2D, (inputs, attrs, b) => b.output(forward(false)(inputs, attrs, b))),
  kernel(Conv2DBackpropInput, backpropInput(false)),
  kernel(Conv2DBackpropFilter, backpropFilter(false)),
  kernel(DepthwiseConv2dNative, (inputs, attrs, b) => b.output(forward(true)(inputs, attrs, b))),
  kernel(DepthwiseConv2dNativeBackpropInput, backpropInput(true)),
  kernel(DepthwiseConv2dNativeBackpropFilter, backpropFilter(true)),
  kernel(FusedConv2D, fused(false)),
  kernel(FusedDepthwiseConv2D, fused(true)),
];
