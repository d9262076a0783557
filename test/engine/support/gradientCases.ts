// The gradient cases of the libtorch backend: for each kernel with a registered tfjs gradient, an op whose
// analytic gradient (tfjs's gradient functions running libtorch kernels) gradients.test.ts compares with central
// finite differences. Inputs are drawn from the DataSource each case is handed (seeded from its name).
//
// Inputs stay away from kinks, where the one-sided derivatives differ and a finite difference straddling the kink
// matches neither: e.g. relu/abs/sign/step/prelu inputs at least 0.05 from 0, floor/ceil/round at least 0.05 from
// the points where they jump, clip inputs away from the bounds, max/min/pooling inputs pairwise at least 0.05
// apart so that no tie or change of argmax happens within the step (eps 1e-3 times |v| <= 1).
import * as tf from '@tensorflow/tfjs-core';

import { awayFrom, awayFromLattice, DataSource, make, type Make, sizeOf } from './data.ts';

export interface GradCase {
  /** The kernel under test; the test fails if the case does not run it on libtorch. */
  kernel: string;
  name: string;
  /** The inputs to differentiate with respect to (float32; an int32 input must get a zero gradient). */
  inputs: (d: DataSource) => Make[];
  /** The op, of tensors made from `inputs`; other arguments are closed over. */
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Finite-difference step (default 1e-3). */
  eps?: number;
  /** Loss weights r of L = sum(f(x) * r) (default: uniform in [-1, 1]). */
  weights?: (d: DataSource, shape: number[]) => Make;
  /**
   * tfjs's gradient of some ops is a deliberate surrogate, not the derivative (FloorDiv differentiates true
   * division, a float -> int32 Cast passes dy straight through): the closed form of that surrogate, from the
   * inputs' values and the weights r, replaces the finite difference.
   */
  surrogate?: (inputs: number[][], r: number[]) => number[][];
}

const cases: GradCase[] = [];

function add(kernel: string, name: string, inputs: GradCase['inputs'], f: GradCase['f'], more: Partial<GradCase> = {}): void {
  cases.push({ kernel, name, inputs, f, ...more });
}

type Tensor4 = tf.Tensor4D;
const MARGIN = 0.05;

/** Two float tensors whose values are pairwise at least `spacing` apart (maximum, minimum, comparisons). */
function apart(d: DataSource, shapeA: number[], shapeB: number[], spacing = 0.1): Make[] {
  const all = d.distinct([sizeOf(shapeA) + sizeOf(shapeB)], spacing).values;
  return [make(all.slice(0, sizeOf(shapeA)), shapeA), make(all.slice(sizeOf(shapeA)), shapeB)];
}

// ---------------------------------------------------------------------------------------------------------------
// Unary ops

type UnaryOp = (x: tf.Tensor) => tf.Tensor;

// [kernel, op, lower, upper]: smooth on the interval.
const SMOOTH: Array<[string, UnaryOp, number, number]> = [
  ['Acos', tf.acos, -0.9, 0.9], ['Acosh', tf.acosh, 1.2, 4], ['Asin', tf.asin, -0.9, 0.9], ['Asinh', tf.asinh, -3, 3],
  ['Atan', tf.atan, -3, 3], ['Atanh', tf.atanh, -0.9, 0.9], ['Cos', tf.cos, -4, 4], ['Cosh', tf.cosh, -3, 3],
  ['Erf', tf.erf, -2, 2], ['Exp', tf.exp, -3, 3], ['Expm1', tf.expm1, -3, 3], ['Log', tf.log, 0.2, 5],
  ['Log1p', tf.log1p, -0.8, 5], ['Rsqrt', tf.rsqrt, 0.2, 5], ['Sigmoid', tf.sigmoid, -6, 6], ['Sin', tf.sin, -4, 4],
  ['Sinh', tf.sinh, -3, 3], ['Softplus', tf.softplus, -6, 6], ['Sqrt', tf.sqrt, 0.2, 5], ['Tan', tf.tan, -1.2, 1.2],
  ['Tanh', tf.tanh, -3, 3], ['Square', tf.square, -3, 3], ['Neg', tf.neg, -3, 3],
];
for (const [kernel, op, lo, hi] of SMOOTH) {
  add(kernel, `on [${lo}, ${hi}]`, (d) => [d.floats([3, 5], lo, hi)], op);
}

// [kernel, op, lower, upper, kinks]: smooth away from the kinks.
const KINKED: Array<[string, UnaryOp, number, number, (x: number) => number]> = [
  ['Abs', tf.abs, -3, 3, awayFrom(0)], ['Relu', tf.relu, -3, 3, awayFrom(0)],
  ['Relu6', tf.relu6, -2, 8, awayFrom(0, 6)], ['Elu', tf.elu, -3, 3, awayFrom(0)], ['Selu', tf.selu, -3, 3, awayFrom(0)],
  ['Reciprocal', tf.reciprocal, -3, 3, (x) => Math.abs(x) - 0.25], ['Sign', tf.sign, -3, 3, awayFrom(0)],
  ['Ceil', tf.ceil, -3, 3, awayFromLattice(1)], ['Floor', tf.floor, -3, 3, awayFromLattice(1)],
  ['Round', tf.round, -3, 3, awayFromLattice(1, 0.5)], ['Step', (x) => tf.step(x, 0.3), -3, 3, awayFrom(0)],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.1), -3, 3, awayFrom(0)],
  ['ClipByValue', (x) => tf.clipByValue(x, -1, 1.5), -3, 3, awayFrom(-1, 1.5)],
];
for (const [kernel, op, lo, hi, kinks] of KINKED) {
  add(kernel, 'away from kinks', (d) => [d.floatsAvoiding([3, 5], lo, hi, kinks, MARGIN)], op);
}
// Zero gradients: the outputs are piecewise constant (bool), so the finite difference is 0 too.
add('IsNan', 'zero gradient', (d) => [d.floats([2, 4])], tf.isNaN);
add('IsInf', 'zero gradient', (d) => [d.floats([2, 4])], tf.isInf);
add('IsFinite', 'zero gradient', (d) => [d.floats([2, 4])], tf.isFinite);

// ---------------------------------------------------------------------------------------------------------------
// Binary ops (both inputs differentiated; broadcasting makes the gradients sum over the broadcast axes)

type BinaryOp = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const SHAPES: Array<[number[], number[], string]> = [
  [[2, 3], [2, 3], 'same shape'], [[2, 3, 4], [4], 'rank mismatch'], [[2, 1, 4], [3, 1], 'size-1 dims'],
  [[], [2, 3], 'scalar a'],
];
for (const [kernel, op] of [['Add', tf.add], ['Sub', tf.sub], ['Multiply', tf.mul]] as Array<[string, BinaryOp]>) {
  for (const [sa, sb, what] of SHAPES) add(kernel, what, (d) => [d.floats(sa, -2, 2), d.floats(sb, -2, 2)], op);
}
// tfjs's gradients of maximum, minimum and squaredDifference do not sum over broadcast axes (tfjs rejects the
// gradient's shape on every backend): same shapes only.
add('SquaredDifference', 'same shape', (d) => [d.floats([2, 3, 4], -2, 2), d.floats([2, 3, 4], -2, 2)], tf.squaredDifference);
add('Maximum', 'same shape', (d) => apart(d, [2, 3, 4], [2, 3, 4]), tf.maximum);
add('Minimum', 'same shape', (d) => apart(d, [2, 3, 4], [2, 3, 4]), tf.minimum);
for (const [sa, sb, what] of SHAPES) {
  add('RealDiv', what, (d) => [d.floats(sa, -2, 2), d.floatsAvoiding(sb, -2, 2, awayFrom(0), 0.3)], tf.div);
  add('Atan2', what, (d) => [d.floatsAvoiding(sa, -2, 2, awayFrom(0), 0.3), d.floatsAvoiding(sb, -2, 2, awayFrom(0), 0.3)], tf.atan2);
  add('Pow', what, (d) => [d.floats(sa, 0.5, 2), d.floats(sb, -2, 2)], tf.pow);
}
add('GreaterEqual', 'zero gradient', (d) => apart(d, [2, 3], [3]), tf.greaterEqual);
{
  // Mod jumps where a / b is an integer: a is drawn with a / b at least 0.1 away from one.
  const modInputs = (d: DataSource): Make[] => {
    const b = d.floats([2, 4], 0.5, 2);
    const a = b.values.map((bv) => {
      for (;;) {
        const q = d.rng.uniform(-4, 4);
        if (awayFromLattice(1)(q) >= 0.1) return q * bv;
      }
    });
    return [make(a, [2, 4]), b];
  };
  add('Mod', 'away from the jumps', modInputs, tf.mod);
}
// tfjs differentiates floorDiv as true division (da = dy / b, db = -dy a / b^2), on purpose: a surrogate.
add('FloorDiv', 'the true-division surrogate', (d) => [d.floats([2, 3], -4, 4), d.floatsAvoiding([2, 3], -2, 2, awayFrom(0), 0.4)],
  tf.floorDiv, {
    surrogate: ([a, b], r) => [a.map((_, i) => r[i] / b[i]), a.map((av, i) => (-r[i] * av) / (b[i] * b[i]))],
  });
add('Prelu', 'x away from 0, alpha per channel', (d) =>
  [d.floatsAvoiding([2, 3, 4], -2, 2, awayFrom(0), MARGIN), d.floats([4], 0.05, 0.5)], tf.prelu);
add('Select', 'both branches', (d) => [d.floats([3, 4]), d.floats([3, 4])], (t, e) => tf.where(
  tf.tensor([1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0], [3, 4], 'bool'), t, e));
add('AddN', 'three inputs', (d) => [d.floats([2, 3]), d.floats([2, 3]), d.floats([2, 3])], (a, b, c) => tf.addN([a, b, c]));
add('Identity', 'clone', (d) => [d.floats([2, 3])], tf.clone);
add('ZerosLike', 'zero gradient', (d) => [d.floats([2, 3])], tf.zerosLike);
add('OnesLike', 'zero gradient', (d) => [d.floats([2, 3])], tf.onesLike);
add('Cast', 'float32 -> float32', (d) => [d.floats([2, 3])], (x) => tf.cast(x, 'float32'));
// The float -> int32 cast is piecewise constant; tfjs passes dy straight through (a surrogate).
add('Cast', 'float32 -> int32, straight through', (d) => [d.floats([2, 3], -3, 3)], (x) => tf.cast(x, 'int32'),
  { surrogate: (_inputs, r) => [r] });

// ---------------------------------------------------------------------------------------------------------------
// Reductions

const CUBE = [3, 4, 5];
// (tfjs's Prod gradient fails on negative axes, whatever the backend.)
for (const [axis, keepDims, what] of [[undefined, false, 'all axes'], [1, true, 'axis 1, keepDims'], [[0, 2], false, 'axes [0, 2]']] as
  Array<[number | number[] | undefined, boolean, string]>) {
  add('Sum', what, (d) => [d.floats(CUBE)], (x) => tf.sum(x, axis, keepDims));
  add('Mean', what, (d) => [d.floats(CUBE)], (x) => tf.mean(x, axis, keepDims));
  add('Max', what, (d) => [d.distinct(CUBE)], (x) => tf.max(x, axis, keepDims));
  add('Min', what, (d) => [d.distinct(CUBE)], (x) => tf.min(x, axis, keepDims));
  // Positive and negative factors away from zero.
  add('Prod', what, (d) => [d.floatsAvoiding(CUBE, -1.3, 1.3, awayFrom(0), 0.7)], (x) => tf.prod(x, axis, keepDims));
}
add('ArgMax', 'zero gradient', (d) => [d.distinct([3, 5])], (x) => tf.argMax(x, 1));
add('ArgMin', 'zero gradient', (d) => [d.distinct([3, 5])], (x) => tf.argMin(x, 0));
// tfjs's Cumsum gradient transposes its result wrongly unless the axis is the last one: last axis only.
for (const [axis, exclusive, reverse] of [[2, false, false], [2, true, false], [2, false, true], [2, true, true]] as const) {
  add('Cumsum', `axis ${axis}, exclusive ${exclusive}, reverse ${reverse}`, (d) => [d.floats(CUBE)],
    (x) => tf.cumsum(x, axis, exclusive, reverse));
}
add('Softmax', 'last axis', (d) => [d.floats([3, 6], -3, 3)], (x) => tf.softmax(x));
add('Softmax', 'rank 1', (d) => [d.floats([7], -3, 3)], (x) => tf.softmax(x));

// ---------------------------------------------------------------------------------------------------------------
// Convolutions and pooling (tfjs's convolution gradients require dilation 1)

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const CONVS: Array<[string, number[], number[], number | [number, number], Pad, 'NHWC' | 'NCHW']> = [
  ["'same', stride 1, 7x5, 3 -> 5 channels", [1, 7, 5, 3], [3, 3, 3, 5], 1, 'same', 'NHWC'],
  ["'same', stride 2, batch 2", [2, 8, 6, 3], [3, 3, 3, 4], 2, 'same', 'NHWC'],
  ["'valid', strides [2, 1], 5 channels", [1, 9, 7, 5], [3, 2, 5, 2], [2, 1], 'valid', 'NHWC'],
  ['numeric pad 1, stride 2', [1, 7, 6, 2], [3, 3, 2, 3], 2, 1, 'NHWC'],
  ['numeric pad 1, 2x3 filter, strides [1, 2]', [1, 6, 7, 2], [2, 3, 2, 3], [1, 2], 1, 'NHWC'],
  ['explicit padding', [1, 5, 6, 2], [2, 3, 2, 3], 1, [[0, 0], [1, 2], [0, 1], [0, 0]], 'NHWC'],
  ["NCHW, 'same', stride 2", [1, 3, 7, 5], [3, 3, 3, 4], 2, 'same', 'NCHW'],
];
for (const [what, xs, fs, strides, pad, format] of CONVS) {
  add('Conv2D', what, (d) => [d.floats(xs), d.floats(fs)],
    (x, f) => tf.conv2d(x as Tensor4, f as Tensor4, strides, pad, format));
}
// tfjs's Conv2D gradient drops dimRoundingMode; the backprop kernels size their output from dy.
add('Conv2D', "dimRoundingMode 'ceil'", (d) => [d.floats([1, 8, 7, 2]), d.floats([3, 3, 2, 3])],
  (x, f) => tf.conv2d(x as Tensor4, f as Tensor4, 2, 1, 'NHWC', 1, 'ceil'));
add('DepthwiseConv2dNative', "dimRoundingMode 'ceil'", (d) => [d.floats([1, 8, 7, 2]), d.floats([3, 3, 2, 2])],
  (x, f) => tf.depthwiseConv2d(x as Tensor4, f as Tensor4, 2, 1, 'NHWC', 1, 'ceil'));
add('Conv2DBackpropInput', "conv2dTranspose, 'same', stride 2", (d) => [d.floats([1, 4, 3, 5]), d.floats([3, 3, 2, 5])],
  (x, f) => tf.conv2dTranspose(x as Tensor4, f as Tensor4, [1, 8, 6, 2], 2, 'same'));
add('Conv2DBackpropInput', "conv2dTranspose, 'valid', stride 1", (d) => [d.floats([2, 5, 4, 3]), d.floats([2, 3, 4, 3])],
  (x, f) => tf.conv2dTranspose(x as Tensor4, f as Tensor4, [2, 6, 6, 4], 1, 'valid'));
const DEPTHWISE: Array<[string, number[], number[], number, Pad]> = [
  ["'same', stride 1, 3 channels", [1, 7, 5, 3], [3, 3, 3, 1], 1, 'same'],
  ["'valid', stride 2, multiplier 2", [2, 9, 7, 5], [3, 3, 5, 2], 2, 'valid'],
  ["'same', stride 2, multiplier 3", [1, 8, 6, 2], [3, 2, 2, 3], 2, 'same'],
  ['numeric pad 1, 13 channels', [1, 6, 5, 13], [3, 3, 13, 1], 1, 1],
];
for (const [what, xs, fs, strides, pad] of DEPTHWISE) {
  add('DepthwiseConv2dNative', what, (d) => [d.floats(xs), d.floats(fs)],
    (x, f) => tf.depthwiseConv2d(x as Tensor4, f as Tensor4, strides, pad));
}
const POOLS: Array<[string, number[], number | [number, number], number | [number, number], 'same' | 'valid' | number, 'ceil' | undefined]> = [
  ["3x3 'same' stride 1, 7x5", [1, 7, 5, 3], 3, 1, 'same', undefined],
  ["3x3 'same' stride 2, batch 2", [2, 8, 7, 2], 3, 2, 'same', undefined],
  ["2x2 'valid' stride 2", [1, 7, 9, 3], 2, 2, 'valid', undefined],
  ['3x2 numeric pad 1, strides [2, 1]', [1, 6, 7, 2], [3, 2], [2, 1], 1, undefined],
  ['2x3 numeric pad 1, strides [1, 2]', [1, 6, 7, 2], [2, 3], [1, 2], 1, undefined],
  ["4x4 'same' stride 3", [1, 5, 8, 2], 4, 3, 'same', undefined],
  ["dimRoundingMode 'ceil'", [1, 8, 8, 2], 3, 2, 0, 'ceil'],
];
for (const [what, xs, filter, strides, pad, rounding] of POOLS) {
  add('MaxPool', what, (d) => [d.distinct(xs)], (x) => tf.maxPool(x as Tensor4, filter, strides, pad, rounding));
  add('AvgPool', what, (d) => [d.floats(xs)], (x) => tf.avgPool(x as Tensor4, filter, strides, pad, rounding));
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes and data movement

add('Reshape', 'to [4, 15]', (d) => [d.floats(CUBE)], (x) => tf.reshape(x, [4, 15]));
add('ExpandDims', 'axis 1', (d) => [d.floats([3, 4])], (x) => tf.expandDims(x, 1));
add('Transpose', 'perm [2, 0, 1]', (d) => [d.floats(CUBE)], (x) => tf.transpose(x, [2, 0, 1]));
add('Slice', 'begin and size', (d) => [d.floats(CUBE)], (x) => tf.slice(x, [1, 0, 2], [2, 3, -1]));
add('Concat', 'axis 1, three inputs', (d) => [d.floats([2, 1]), d.floats([2, 3]), d.floats([2, 2])],
  (a, b, c) => tf.concat([a, b, c], 1));
add('Pack', 'axis 1', (d) => [d.floats([2, 3]), d.floats([2, 3])], (a, b) => tf.stack([a, b], 1));
// Multi-output ops: their outputs are weighted differently and joined, so each output's gradient counts.
add('Unpack', 'axis 1', (d) => [d.floats(CUBE)], (x) => tf.stack(tf.unstack(x, 1).map((t, i) => tf.mul(t, i + 1))));
add('SplitV', 'sizes [1, -1, 2] on axis -1', (d) => [d.floats(CUBE)],
  (x) => tf.concat(tf.split(x, [1, -1, 2], -1).map((t, i) => tf.mul(t, i + 1)), -1));
add('GatherV2', 'axis 1, repeated indices', (d) => [d.floats(CUBE)],
  (x) => tf.gather(x, tf.tensor([3, 0, 3, 1, 3], [5], 'int32'), 1));
add('GatherV2', 'batchDims 1', (d) => [d.floats(CUBE)],
  (x) => tf.gather(x, tf.tensor([0, 3, 1, 1, 2, 2], [3, 2], 'int32'), 1, 1));
add('Tile', 'reps [2, 1, 3]', (d) => [d.floats([2, 3, 2])], (x) => tf.tile(x, [2, 1, 3]));
add('Reverse', 'axes [0, 2]', (d) => [d.floats(CUBE)], (x) => tf.reverse(x, [0, 2]));
add('PadV2', 'constant value', (d) => [d.floats([2, 3])], (x) => tf.pad(x, [[1, 2], [0, 1]], 0.5));
// tfjs's MirrorPad gradient only slices the centre out of dy and drops what the reflected copies contribute; the
// gradient is checked where that is the whole gradient, with zero loss weights on the padding.
for (const mode of ['reflect', 'symmetric'] as const) {
  const paddings: Array<[number, number]> = [[2, 1], [1, 2]];
  add('MirrorPad', `${mode}, weights on the centre`, (d) => [d.floats([3, 4])], (x) => tf.mirrorPad(x, paddings, mode), {
    weights: (d, shape) => make(d.floats(shape).values.map((v, i) => {
      const row = Math.floor(i / shape[1]);
      const col = i % shape[1];
      return row >= 2 && row < 5 && col >= 1 && col < 5 ? v : 0;
    }), shape),
  });
}
// tf.broadcastTo runs Tile; the BroadcastTo kernel is called directly.
add('BroadcastTo', '[1, 3, 1] -> [2, 3, 4]', (d) => [d.floats([1, 3, 1])], (x) =>
  tf.engine().runKernel('BroadcastTo', { x }, { shape: [2, 3, 4], inputShape: [1, 3, 1] }) as tf.Tensor);
add('UnsortedSegmentSum', 'rows, a negative id', (d) => [d.floats([5, 3])], (x) =>
  tf.unsortedSegmentSum(x, tf.tensor([1, 0, 1, -1, 2], [5], 'int32') as tf.Tensor1D, 3));
add('OneHot', 'zero gradient for the indices', () => [make([0, 2, 1, 1], [4], 'int32')], (i) => tf.oneHot(i as tf.Tensor1D, 3));

// ---------------------------------------------------------------------------------------------------------------
// Linear algebra and images

add('BatchMatMul', '2-d', (d) => [d.floats([3, 5]), d.floats([5, 4])], (a, b) => tf.matMul(a, b));
add('BatchMatMul', 'transposes', (d) => [d.floats([5, 3]), d.floats([4, 5])], (a, b) => tf.matMul(a, b, true, true));
add('BatchMatMul', 'batched, transposeA', (d) => [d.floats([2, 5, 3]), d.floats([2, 5, 4])], (a, b) => tf.matMul(a, b, true));
// (tfjs's BatchMatMul gradient does not sum over broadcast batch dimensions: equal batches only.)
add('FusedBatchNorm', 'all five inputs', (d) => [d.floats([2, 3, 2, 4], -2, 2), d.floats([4]), d.floats([4], 0.3, 2),
  d.floats([4]), d.floats([4], 0.5, 2)], (x, mean, variance, offset, scale) => tf.batchNorm(x, mean, variance, offset, scale, 0.01));
const RESIZES: Array<[string, number[], [number, number], boolean, boolean]> = [
  ['5x5 up to 8x8', [1, 5, 5, 2], [8, 8], false, false],
  ['7x5 up to 9x11', [1, 7, 5, 2], [9, 11], false, false],
  ['7x5 down to 4x3, batch 2', [2, 7, 5, 2], [4, 3], false, false],
  ['7x5 to 4x9, align corners', [1, 7, 5, 2], [4, 9], true, false],
  ['5x6 to 8x13, half-pixel centres', [1, 5, 6, 2], [8, 13], false, true],
  ['9x7 to 4x3, half-pixel centres, batch 2', [2, 9, 7, 1], [4, 3], false, true],
];
for (const [what, shape, size, alignCorners, halfPixelCenters] of RESIZES) {
  add('ResizeBilinear', what, (d) => [d.floats(shape)],
    (x) => tf.image.resizeBilinear(x as Tensor4, size, alignCorners, halfPixelCenters));
  add('ResizeNearestNeighbor', what, (d) => [d.floats(shape)],
    (x) => tf.image.resizeNearestNeighbor(x as Tensor4, size, alignCorners, halfPixelCenters));
}

export const GRADIENT_CASES: readonly GradCase[] = cases;

// ---------------------------------------------------------------------------------------------------------------
// Cross-checks: libtorch's analytic gradients against cpu's, for the heavy kernels.

export interface CrossCase {
  name: string;
  inputs: (d: DataSource) => Make[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
}

export const CROSS_CASES: readonly CrossCase[] = [
  { name: "conv2d 'same' stride 2", inputs: (d) => [d.floats([2, 7, 5, 3]), d.floats([3, 3, 3, 5])],
    f: (x, w) => tf.conv2d(x as Tensor4, w as Tensor4, 2, 'same') },
  { name: "conv2d 'valid' stride 1, 13 channels", inputs: (d) => [d.floats([1, 6, 7, 2]), d.floats([2, 3, 2, 13])],
    f: (x, w) => tf.conv2d(x as Tensor4, w as Tensor4, 1, 'valid') },
  { name: 'conv2d NCHW numeric pad', inputs: (d) => [d.floats([1, 3, 6, 5]), d.floats([3, 3, 3, 2])],
    f: (x, w) => tf.conv2d(x as Tensor4, w as Tensor4, 1, 1, 'NCHW') },
  { name: "depthwise 'same' stride 2, multiplier 2", inputs: (d) => [d.floats([2, 7, 6, 3]), d.floats([3, 3, 3, 2])],
    f: (x, w) => tf.depthwiseConv2d(x as Tensor4, w as Tensor4, 2, 'same') },
  { name: "depthwise 'valid', 5 channels", inputs: (d) => [d.floats([1, 8, 7, 5]), d.floats([2, 3, 5, 1])],
    f: (x, w) => tf.depthwiseConv2d(x as Tensor4, w as Tensor4, 1, 'valid') },
  { name: "maxPool 3x3 'same' stride 2", inputs: (d) => [d.distinct([2, 7, 5, 3])],
    f: (x) => tf.maxPool(x as Tensor4, 3, 2, 'same') },
  { name: "maxPool 2x2 'valid'", inputs: (d) => [d.distinct([1, 6, 7, 2])], f: (x) => tf.maxPool(x as Tensor4, 2, 2, 'valid') },
  // Only without padding: where windows reach into padding, cpu's AvgPoolGrad divides by the full window size
  // instead of the number of real pixels its AvgPool divides by (conformance.test.ts covers that).
  { name: "avgPool 3x3 'valid' stride 2", inputs: (d) => [d.floats([2, 9, 7, 3])],
    f: (x) => tf.avgPool(x as Tensor4, 3, 2, 'valid') },
  { name: 'batchMatMul batched, transposeB', inputs: (d) => [d.floats([2, 3, 5]), d.floats([2, 4, 5])],
    f: (a, b) => tf.matMul(a, b, false, true) },
  // Square images without half-pixel centres: cpu's ResizeBilinearGrad handles nothing else.
  { name: 'resizeBilinear 5x5 -> 8x8', inputs: (d) => [d.floats([2, 5, 5, 3])],
    f: (x) => tf.image.resizeBilinear(x as Tensor4, [8, 8]) },
  { name: 'resizeBilinear 6x6 -> 4x4, align corners', inputs: (d) => [d.floats([1, 6, 6, 2])],
    f: (x) => tf.image.resizeBilinear(x as Tensor4, [4, 4], true) },
];
