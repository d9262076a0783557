// The conformance cases of the libtorch backend: for each kernel it registers, tfjs ops (or runKernel calls, for
// kernels without a public op) that conformance.test.ts runs on libtorch and on tfjs's cpu backend.
//
// A case's `run` draws its inputs as plain JS arrays from the DataSource it is handed, which is seeded from the
// case's name: the run on each backend gets a fresh one, so both see the same numbers, and tensors are only made
// of them inside `run`, on the backend that is active then.
//
// Deliberate deviations from the cpu backend (their cases compare with an explicit expectation, or with a cpu
// reference that computes the libtorch behaviour, instead of with cpu's own kernel):
// - MaxPool: a window holding a NaN gives NaN (ATen propagates it, as Max and Maximum do on both backends);
//   tfjs's cpu skips NaN and gives the window's largest number, or -Infinity if all of it is NaN. Propagating is
//   kept on purpose: a NaN activation surfaces in the loss instead of being hidden by a pooling layer.
import * as tf from '@tensorflow/tfjs-core';

import { DataSource, difference, make, type Make, type Output, type Tolerance } from './data.ts';

type Result = tf.Tensor | tf.Tensor[];
type Run = (d: DataSource) => Result;

export interface KernelCase {
  /** The libtorch kernel the case is for; the test fails if running the case on libtorch does not invoke it. */
  kernel: string;
  name: string;
  run: Run;
  /** What cpu runs instead of `run` (from the same draws) where cpu lacks the kernel or gets it wrong. */
  reference?: Run;
  tol?: Partial<Tolerance>;
  /** Checks libtorch's outputs on their own instead of comparing them with cpu's (random kernels). */
  check?: (outputs: Output[]) => void;
}

const cases: KernelCase[] = [];

function add(kernel: string, name: string, run: Run, more: Partial<KernelCase> = {}): void {
  cases.push({ kernel, name, run, ...more });
}

/** engine().runKernel, for kernels without a public op or to pin attributes the op would not pass. */
function runKernel(name: string, inputs: tf.NamedTensorMap | tf.Tensor[], attrs: object = {}): Result {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as Result;
}

/** Fixed values: float32 unless told. */
function given(values: number[], shape: number[] = [values.length], dtype: 'float32' | 'int32' | 'bool' = 'float32'): Make {
  return make(values, shape, dtype);
}

type Tensor4 = tf.Tensor4D;

// Values where JS and C++ maths are most likely to part ways.
const SPECIALS = given([0, -0, 0.5, -0.5, 1, -1, 2.5, -2.5, 100, -100, Infinity, -Infinity, NaN]);

// ---------------------------------------------------------------------------------------------------------------
// Unary elementwise ops

type UnaryOp = (x: tf.Tensor) => tf.Tensor;

// [kernel, op, lower, upper]: ops computed in floating point; random inputs are drawn from the op's domain.
const FLOAT_MATH: Array<[string, UnaryOp, number, number]> = [
  ['Acos', tf.acos, -0.99, 0.99], ['Acosh', tf.acosh, 1.01, 6], ['Asin', tf.asin, -0.99, 0.99],
  ['Asinh', tf.asinh, -6, 6], ['Atan', tf.atan, -6, 6], ['Atanh', tf.atanh, -0.99, 0.99], ['Cos', tf.cos, -6, 6],
  ['Cosh', tf.cosh, -6, 6], ['Erf', tf.erf, -3, 3], ['Exp', tf.exp, -8, 8], ['Expm1', tf.expm1, -3, 3],
  ['Log', tf.log, 0.01, 20], ['Log1p', tf.log1p, -0.99, 20], ['Reciprocal', tf.reciprocal, 0.1, 5],
  ['Rsqrt', tf.rsqrt, 0.01, 20], ['Sigmoid', tf.sigmoid, -12, 12], ['Sin', tf.sin, -6, 6], ['Sinh', tf.sinh, -6, 6],
  ['Softplus', tf.softplus, -20, 20], ['Sqrt', tf.sqrt, 0, 20], ['Tan', tf.tan, -1.4, 1.4], ['Tanh', tf.tanh, -6, 6],
  ['Elu', tf.elu, -4, 4], ['Selu', tf.selu, -4, 4],
];
const SMALL_INTS = given([-3, -2, -1, 0, 1, 2, 3, 7], [2, 4], 'int32');
for (const [kernel, op, lo, hi] of FLOAT_MATH) {
  add(kernel, 'float32 in its domain', (d) => op(d.floats([3, 7], lo, hi)()));
  add(kernel, 'special values (0, -0, ±inf, NaN, large)', () => op(SPECIALS()));
  // tfjs's kernels keep an int32 input's dtype for all of these but Exp (the values truncated as an Int32Array
  // truncates: NaN and ±inf become 0). Most ops refuse int32 before the kernel, hence runKernel.
  add(kernel, `int32 input gives ${kernel === 'Exp' ? 'float32' : 'int32'}`, () => runKernel(kernel, { x: SMALL_INTS() }));
}

// [kernel, op]: ops whose result has the input's dtype.
const SAME_DTYPE: Array<[string, UnaryOp]> = [
  ['Abs', tf.abs], ['Ceil', tf.ceil], ['Floor', tf.floor], ['Neg', tf.neg], ['Relu', tf.relu], ['Relu6', tf.relu6],
  ['Round', tf.round], ['Sign', tf.sign], ['Square', tf.square],
];
for (const [kernel, op] of SAME_DTYPE) {
  add(kernel, 'float32', (d) => op(d.floats([2, 3, 5], -8, 8)()));
  add(kernel, 'special values', () => op(SPECIALS()));
  // runKernel: tf.ceil and tf.floor refuse int32 before the kernel.
  add(kernel, 'int32', (d) => runKernel(kernel, { x: d.ints([11], -9, 9)() }));
}
add('Abs', 'bool', (d) => tf.abs(d.bools([2, 3])()));
add('Round', 'halves round to even', () => tf.round(given([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997])()));
add('Relu6', 'around 0 and 6', () => tf.relu6(given([-1, 0, 3, 6, 6.5, 100])()));

add('IsNan', 'special values', () => tf.isNaN(SPECIALS()));
add('IsInf', 'special values', () => tf.isInf(SPECIALS()));
add('IsFinite', 'special values', () => tf.isFinite(SPECIALS()));
add('IsFinite', 'int32', () => tf.isFinite(SMALL_INTS()));
add('LogicalNot', 'bool', (d) => tf.logicalNot(d.bools([3, 4])()));

// ---------------------------------------------------------------------------------------------------------------
// Binary elementwise ops

type BinaryOp = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

// Broadcasting patterns: same shape, rank mismatch, size-1 dims on both sides, a scalar on either side.
const BROADCASTS: Array<[number[], number[], string]> = [
  [[2, 3, 4], [2, 3, 4], 'same shape'],
  [[2, 3, 4], [4], 'rank mismatch'],
  [[2, 1, 4], [3, 1], 'size-1 dims on both sides'],
  [[], [2, 3], 'scalar a'],
  [[5, 1], [], 'scalar b'],
];
function broadcastCases(kernel: string, op: BinaryOp, label: string, draw: (d: DataSource, shape: number[]) => Make): void {
  for (const [sa, sb, what] of BROADCASTS) {
    add(kernel, `${label}, ${what}`, (d) => op(draw(d, sa)(), draw(d, sb)()));
  }
}

const ARITHMETIC: Array<[string, BinaryOp]> = [
  ['Add', tf.add], ['Sub', tf.sub], ['Multiply', tf.mul], ['Maximum', tf.maximum], ['Minimum', tf.minimum],
  ['SquaredDifference', tf.squaredDifference],
];
for (const [kernel, op] of ARITHMETIC) {
  broadcastCases(kernel, op, 'float32', (d, s) => d.floats(s, -3, 3));
  broadcastCases(kernel, op, 'int32', (d, s) => d.ints(s, -50, 50));
}
add('Maximum', 'NaN propagates', () => tf.maximum(given([NaN, 1, -Infinity])(), given([0, NaN, -1])()));
add('Minimum', 'NaN propagates', () => tf.minimum(given([NaN, 1, Infinity])(), given([0, NaN, 1])()));
add('Maximum', 'bool', (d) => tf.maximum(d.bools([3, 4])(), d.bools([3, 4])()));
add('Minimum', 'bool', (d) => tf.minimum(d.bools([3, 4])(), d.bools([4])()));
add('Multiply', 'bool', (d) => tf.mul(d.bools([3, 4])(), d.bools([1, 4])()));
add('SquaredDifference', 'bool', (d) => tf.squaredDifference(d.bools([3, 4])(), d.bools([4])()));

broadcastCases('RealDiv', tf.div, 'float32', (d, s) => d.floats(s, 0.5, 3));
add('RealDiv', 'division by zero', () => tf.div(given([1, -1, 0, 2])(), given([0, 0, 0, -0])()));

// tf.div of int32 tensors is FloorDiv.
broadcastCases('FloorDiv', tf.div, 'int32', (d, s) => d.nonzeroInts(s, 20));
add('FloorDiv', 'int32 with negatives rounds down', () =>
  tf.div(given([7, -7, 7, -7, 0, 9], [6], 'int32')(), given([2, 2, -2, -2, 3, 3], [6], 'int32')()));
add('FloorDiv', 'int32 by zero gives 0 (as an Int32Array stores ±inf and NaN)', () =>
  tf.floorDiv(given([5, -5, 0], [3], 'int32')(), given([0, 0, 0], [3], 'int32')()));
add('FloorDiv', 'float32 gives int32', (d) => tf.floorDiv(d.floats([2, 5], -9, 9)(), d.floats([5], 0.5, 3)()));

add('Mod', 'float32, the divisor sign decides', (d) =>
  tf.mod(d.floats([3, 4], -9, 9)(), tf.mul(d.floats([4], 0.5, 4)(), given([1, -1, 1, -1])())));
add('Mod', 'int32 with negatives and zero', () =>
  tf.mod(given([7, -7, 7, -7, 0, 9, 5], [7], 'int32')(), given([3, 3, -3, -3, 3, 9, 0], [7], 'int32')()));
add('Mod', 'float32 by zero', () => tf.mod(given([1, -1, 0])(), given([0, 0, 0])()));

add('Pow', 'float32, positive base', (d) => tf.pow(d.floats([3, 4], 0.1, 3)(), d.floats([4], -2, 2)()));
add('Pow', 'float32, negative and zero base', () => tf.pow(given([-2, -2, -0.5, 0, 0])(), given([2, 0.5, 3, 0, -1])()));
add('Pow', 'int32', () => tf.pow(given([2, -3, 5, 0, 1, 2], [6], 'int32')(), given([3, 3, 0, 2, 7, 30], [6], 'int32')()));
add('Pow', 'int32, negative exponent and overflow', () =>
  tf.pow(given([2, 1, -1, 2, 3], [5], 'int32')(), given([-1, -3, -3, 31, 25], [5], 'int32')()));

add('Atan2', 'float32 broadcast, all quadrants', (d) => tf.atan2(d.floats([3, 4], -2, 2)(), d.floats([4], -2, 2)()));
add('Atan2', 'zeros and infinities', () =>
  tf.atan2(given([0, -0, 0, 1, Infinity, -Infinity])(), given([0, 0, -1, 0, Infinity, 1])()));
add('Atan2', 'int32', () => tf.atan2(given([1, -1, 3, 0], [4], 'int32')(), given([1, 2, -1, -4], [4], 'int32')()));

const COMPARISONS: Array<[string, BinaryOp]> = [
  ['Equal', tf.equal], ['NotEqual', tf.notEqual], ['Less', tf.less], ['LessEqual', tf.lessEqual],
  ['Greater', tf.greater], ['GreaterEqual', tf.greaterEqual],
];
for (const [kernel, op] of COMPARISONS) {
  // Few distinct values, so that equality is common.
  broadcastCases(kernel, op, 'float32', (d, s) => make(d.ints(s, -2, 3).values.map((v) => v / 2), s));
  broadcastCases(kernel, op, 'int32', (d, s) => d.ints(s, -2, 3));
  add(kernel, 'bool', (d) => op(d.bools([3, 4])(), d.bools([4])()));
  add(kernel, 'NaN and infinities', () => op(given([NaN, NaN, 1, Infinity, -Infinity])(), given([NaN, 1, NaN, Infinity, 0])()));
}

for (const [kernel, op] of [['LogicalAnd', tf.logicalAnd], ['LogicalOr', tf.logicalOr]] as Array<[string, BinaryOp]>) {
  broadcastCases(kernel, op, 'bool', (d, s) => d.bools(s));
}
// tf.logicalXor is composed of and/or/not and never calls the LogicalXor kernel, which cpu lacks: the kernel is
// compared with that composition.
for (const [sa, sb, what] of BROADCASTS) {
  add('LogicalXor', what, (d) => runKernel('LogicalXor', { a: d.bools(sa)(), b: d.bools(sb)() }),
    { reference: (d) => tf.logicalXor(d.bools(sa)(), d.bools(sb)()) });
}

add('BitwiseAnd', 'int32 with negatives and extremes', () => tf.bitwiseAnd(
  given([0, 1, 5, -1, -8, 2147483647, -2147483648, 12], [2, 4], 'int32')(),
  given([7, 3, 6, -1, 12, -1, -1, -13], [2, 4], 'int32')()));

add('Prelu', 'alpha per channel', (d) => tf.prelu(d.floats([2, 3, 4], -2, 2)(), d.floats([4], 0, 0.5)()));
add('Prelu', 'scalar alpha', (d) => tf.prelu(d.floats([5, 3], -2, 2)(), given([0.25], [])()));
add('EluGrad', 'dy, y of both signs', (d) => runKernel('EluGrad', { dy: d.floats([3, 5])(), y: d.floats([3, 5], -0.99, 2)() }));
add('EluGrad', 'y exactly 0', () => runKernel('EluGrad', { dy: given([1, 2, 3])(), y: given([0, -0, -1])() }));
add('Step', 'alpha 0, special values', () => tf.step(SPECIALS()));
add('Step', 'alpha 0.3', (d) => tf.step(d.floats([4, 3], -1, 1)(), 0.3));
add('Step', 'int32', () => tf.step(SMALL_INTS(), 0.5));
add('LeakyRelu', 'float32', (d) => tf.leakyRelu(d.floats([3, 5], -2, 2)(), 0.1));
add('LeakyRelu', 'special values', () => tf.leakyRelu(SPECIALS(), 0.2));
add('LeakyRelu', 'int32 gives float32', () => tf.leakyRelu(SMALL_INTS(), 0.5));
add('ClipByValue', 'float32', (d) => tf.clipByValue(d.floats([4, 5], -3, 3)(), -1, 1.5));
add('ClipByValue', 'special values', () => tf.clipByValue(SPECIALS(), -2, 2));
add('ClipByValue', 'int32', (d) => tf.clipByValue(d.ints([9], -10, 10)(), -3, 4));

// Cast between every pair of float32, int32 and bool, with the values where conversions differ.
const CAST_SOURCES: Make[] = [
  given([0, -0, 0.4, -0.6, 1.5, -2.5, 3.99, NaN, Infinity, -Infinity, 3e9, -3e9, 2147483520]),
  given([0, 1, -1, 7, -2147483648, 2147483647], [6], 'int32'),
  given([1, 0, 1, 1, 0], [5], 'bool'),
];
for (const source of CAST_SOURCES) {
  for (const to of ['float32', 'int32', 'bool'] as const) {
    add('Cast', `${source.dtype} -> ${to}`, () => tf.cast(source(), to));
  }
}

add('Select', 'float32, broadcast condition', (d) => tf.where(d.bools([3, 1])(), d.floats([3, 4])(), d.floats([4])()));
add('Select', 'int32', (d) => tf.where(d.bools([6])(), d.ints([6])(), d.ints([6])()));
add('Select', 'bool', (d) => tf.where(d.bools([2, 3])(), d.bools([2, 3])(), d.bools([2, 3])()));
// cpu's Select mis-indexes t and e under a rank-1 or scalar condition (it repeats element i across row i, and
// fills only the first element for a scalar): those are compared with tf.where, which broadcasts the condition.
add('Select', 'rank-1 condition picks rows', (d) =>
  runKernel('Select', { condition: d.bools([3])(), t: d.floats([3, 2, 2])(), e: d.floats([3, 2, 2])() }),
{ reference: (d) => tf.where(tf.reshape(d.bools([3])(), [3, 1, 1]), d.floats([3, 2, 2])(), d.floats([3, 2, 2])()) });
add('Select', 'scalar condition', (d) =>
  runKernel('Select', { condition: given([1], [], 'bool')(), t: d.floats([2, 2])(), e: d.floats([2, 2])() }),
{ reference: (d) => tf.where(given([1], [], 'bool')(), d.floats([2, 2])(), d.floats([2, 2])()) });

add('AddN', 'float32, three tensors', (d) => tf.addN([d.floats([2, 3])(), d.floats([2, 3])(), d.floats([2, 3])()]));
add('AddN', 'int32', (d) => tf.addN([d.ints([4])(), d.ints([4])()]));
add('Identity', 'float32', (d) => tf.clone(d.floats([2, 3])()));
add('Identity', 'bool', (d) => tf.clone(d.bools([2, 3])()));
for (const dtype of ['float32', 'int32', 'bool'] as const) {
  const draw = (d: DataSource) => (dtype === 'float32' ? d.floats([2, 3]) : dtype === 'int32' ? d.ints([2, 3]) : d.bools([2, 3]));
  add('ZerosLike', dtype, (d) => tf.zerosLike(draw(d)()));
  add('OnesLike', dtype, (d) => tf.onesLike(draw(d)()));
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions

type Draw = (d: DataSource) => Make;
const CUBE = [3, 4, 5];
const floatCube: Draw = (d) => d.floats(CUBE, -2, 2);
const intCube: Draw = (d) => d.ints(CUBE, -20, 20);
const boolCube: Draw = (d) => d.bools(CUBE);

type Reduce = (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor;
const AXES: Array<[number | number[] | undefined, boolean, string]> = [
  [undefined, false, 'all axes'], [1, false, 'axis 1'], [[0, 2], true, 'axes [0, 2], keepDims'],
  [-1, false, 'axis -1'], [[-3, -2], false, 'axes [-3, -2]'], [[], false, 'empty axis list'],
  [[], true, 'empty axis list, keepDims'], [undefined, true, 'all axes, keepDims'],
];
function reductionCases(kernel: string, op: Reduce, inputs: Array<[string, Draw]>): void {
  for (const [what, draw] of inputs) {
    for (const [axis, keepDims, axisWhat] of AXES) {
      add(kernel, `${what}, ${axisWhat}`, (d) => op(draw(d)(), axis, keepDims));
    }
  }
}
reductionCases('Sum', tf.sum, [['float32', floatCube], ['int32', intCube], ['bool', boolCube]]);
// 4096 terms summed in a different order (pairwise in ATen, sequential in cpu): float32 rounding grows with the
// number of terms, so a looser relative tolerance.
add('Sum', 'large float32 sum', (d) => tf.sum(d.floats([4096], 0, 1)()), { tol: { rtol: 1e-3 } });
reductionCases('Mean', tf.mean, [['float32', floatCube], ['int32', intCube]]);
reductionCases('Max', tf.max, [['float32', floatCube], ['int32', intCube]]);
reductionCases('Min', tf.min, [['float32', floatCube], ['int32', intCube]]);
add('Max', 'bool', (d) => tf.max(boolCube(d)(), 1));
add('Min', 'bool', (d) => tf.min(boolCube(d)(), [0, 2]));
add('Max', 'with NaN', () => tf.max(given([1, NaN, 3, 2, 5, 4], [2, 3])(), 1));
add('Min', 'with NaN', () => tf.min(given([1, NaN, 3, 2, 5, 4], [2, 3])(), 1));
const positiveCube: Draw = (d) => d.floats(CUBE, 0.5, 1.5);
reductionCases('Prod', tf.prod, [['float32', positiveCube], ['int32', (d) => d.ints(CUBE, -3, 4)], ['bool', boolCube]]);
reductionCases('All', tf.all, [['bool', boolCube]]);
reductionCases('Any', tf.any, [['bool', boolCube]]);
add('All', 'mostly true', (d) => tf.all(make(d.ints([4, 6], 0, 10).values.map((v) => (v > 0 ? 1 : 0)), [4, 6], 'bool')(), 1));
add('Any', 'mostly false', (d) => tf.any(make(d.ints([4, 6], 0, 10).values.map((v) => (v > 8 ? 1 : 0)), [4, 6], 'bool')(), 1));

type ArgReduce = (x: tf.Tensor, axis?: number) => tf.Tensor;
for (const [kernel, op] of [['ArgMax', tf.argMax], ['ArgMin', tf.argMin]] as Array<[string, ArgReduce]>) {
  add(kernel, 'float32, axis 0', (d) => op(floatCube(d)(), 0));
  add(kernel, 'float32, axis -1', (d) => op(floatCube(d)(), -1));
  add(kernel, 'int32, axis 1', (d) => op(intCube(d)(), 1));
  // Few distinct values: ties pick the first index.
  add(kernel, 'ties pick the first index', (d) => op(d.ints([4, 9], 0, 3)(), 1));
  add(kernel, 'bool', (d) => op(boolCube(d)(), 2));
  add(kernel, 'rank 1', (d) => op(d.floats([17])()));
  // NaN never wins in tfjs, unless it comes first.
  add(kernel, 'NaN', () => op(given([1, NaN, 3, NaN, 0, -1, -Infinity, NaN, -Infinity, 2, NaN, 5], [4, 3])(), 1));
}

type Cumulative = (x: tf.Tensor, axis?: number, exclusive?: boolean, reverse?: boolean) => tf.Tensor;
for (const [kernel, op, draw] of [['Cumsum', tf.cumsum, floatCube], ['Cumprod', tf.cumprod, positiveCube]] as Array<[string, Cumulative, Draw]>) {
  for (const [axis, exclusive, reverse] of [[0, false, false], [1, true, false], [2, false, true], [2, true, true]] as const) {
    add(kernel, `float32, axis ${axis}, exclusive ${exclusive}, reverse ${reverse}`, (d) => op(draw(d)(), axis, exclusive, reverse));
  }
  // cpu permutes the axes wrongly for a negative axis; it gets the same axis counted from the front.
  add(kernel, 'float32, axis -2, reverse', (d) => op(draw(d)(), -2, false, true),
    { reference: (d) => op(draw(d)(), 1, false, true) });
  add(kernel, 'int32', (d) => op(d.ints([3, 4], -3, 4)(), 1, true, false));
  add(kernel, 'bool gives int32', (d) => op(d.bools([3, 4])(), 1, false, true));
}

add('Softmax', 'last axis', (d) => tf.softmax(d.floats([3, 7], -5, 5)()));
add('Softmax', 'rank 3, large logits', (d) => tf.softmax(d.floats([2, 3, 5], 50, 90)()));
add('Softmax', 'rank 1', (d) => tf.softmax(d.floats([10], -3, 3)()));

function topk(x: tf.Tensor, k?: number): tf.Tensor[] {
  const { values, indices } = tf.topk(x, k);
  return [values, indices];
}
add('TopK', 'float32, k 3', (d) => topk(d.floats([4, 9])(), 3));
add('TopK', 'ties keep the lower index first', (d) => topk(make(d.ints([3, 10], 0, 3).values, [3, 10])(), 5));
add('TopK', 'int32, k = size', (d) => topk(d.ints([2, 6], -5, 5)(), 6));
add('TopK', 'rank 1, k 1', (d) => topk(d.floats([8])()));
add('TopK', 'k 0', (d) => topk(d.floats([2, 5])(), 0));

// ---------------------------------------------------------------------------------------------------------------
// Convolutions (small: tfjs's cpu backend convolves in plain JS)

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface ConvSpec {
  x: number[];
  f: number[];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const CONVS: Array<[string, ConvSpec]> = [
  ["'same', stride 1, 7x5 image, 3 -> 5 channels", { x: [1, 7, 5, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same' }],
  ["'valid', stride 2, batch 2, 5 -> 13 channels", { x: [2, 9, 7, 5], f: [3, 2, 5, 13], strides: 2, pad: 'valid' }],
  ["'same', stride 2 (asymmetric padding)", { x: [2, 8, 6, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' }],
  ["'same', strides [1, 2], even filter", { x: [1, 6, 7, 2], f: [2, 4, 2, 3], strides: [1, 2], pad: 'same' }],
  ['numeric pad 1, stride 2', { x: [1, 7, 6, 3], f: [3, 3, 3, 2], strides: 2, pad: 1 }],
  ['explicit padding', { x: [1, 5, 6, 2], f: [2, 3, 2, 3], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] }],
  ["dilation 2, 'same'", { x: [1, 9, 7, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same', dilations: 2 }],
  ["dilation 2, 'valid'", { x: [2, 8, 9, 2], f: [2, 3, 2, 3], strides: 1, pad: 'valid', dilations: [2, 2] }],
  ["NCHW, 'same', stride 2", { x: [2, 3, 7, 5], f: [3, 3, 3, 5], strides: 2, pad: 'same', dataFormat: 'NCHW' }],
  ["NCHW, 'valid', dilation 2", { x: [1, 5, 9, 8], f: [3, 2, 5, 3], strides: 1, pad: 'valid', dilations: 2, dataFormat: 'NCHW' }],
  ['NCHW, explicit padding', { x: [1, 2, 5, 6], f: [3, 2, 2, 3], strides: 1, pad: [[0, 0], [0, 0], [2, 1], [0, 1]], dataFormat: 'NCHW' }],
  ["dimRoundingMode 'ceil', numeric pad", { x: [1, 8, 7, 2], f: [3, 3, 2, 2], strides: 2, pad: 1, dimRoundingMode: 'ceil' }],
  ['numeric pad 1, 3x2 filter, strides [2, 1]', { x: [1, 6, 7, 2], f: [3, 2, 2, 3], strides: [2, 1], pad: 1 }],
  ['numeric pad 1, 2x3 filter, strides [1, 2]', { x: [1, 6, 7, 2], f: [2, 3, 2, 3], strides: [1, 2], pad: 1 }],
];

/** The output shape of a convolution, from tfjs's own geometry. */
function convOutShape(s: ConvSpec, depthwise = false): number[] {
  return tf.backend_util.computeConv2DInfo(s.x as [number, number, number, number],
    s.f as [number, number, number, number], s.strides, s.dilations ?? 1, explicit(s.pad, s.dataFormat), s.dimRoundingMode, depthwise,
    s.dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast').outShape;
}

/**
 * The same padding written out explicitly. tfjs-core sizes a numeric padding's output width from the filter
 * height and stride height, so for non-square windows or strides cpu computes a truncated (or overlong) result;
 * libtorch sizes each dimension from its own filter and stride, which is what the explicit form gives on cpu.
 */
function explicit(pad: Pad, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): Pad {
  if (typeof pad !== 'number') return pad;
  return dataFormat === 'NHWC' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : [[0, 0], [0, 0], [pad, pad], [pad, pad]];
}

/** The reference run with another padding, if there is one. */
function referenceWith(pad: Pad | undefined, run: (pad: Pad) => Run): Run | undefined {
  return pad === undefined ? undefined : run(pad);
}

function square(size: number | [number, number]): boolean {
  return typeof size === 'number' || size[0] === size[1];
}

for (const [what, s] of CONVS) {
  const conv = (pad: Pad) => (d: DataSource) => tf.conv2d(d.floats(s.x)() as Tensor4, d.floats(s.f)() as Tensor4,
    s.strides, pad, s.dataFormat ?? 'NHWC', s.dilations ?? 1, s.dimRoundingMode);
  const nonSquare = s.f[0] !== s.f[1] || !square(s.strides);
  add('Conv2D', what, conv(s.pad), { reference: nonSquare ? conv(explicit(s.pad, s.dataFormat)) : undefined });
}
// The backprop kernels take no dilations in tfjs (its convolution gradients require dilation 1).
for (const [what, s] of CONVS.filter(([, c]) => (c.dilations ?? 1) === 1)) {
  const attrs = { strides: s.strides, pad: s.pad, dataFormat: s.dataFormat ?? 'NHWC', dimRoundingMode: s.dimRoundingMode };
  const nonSquare = s.f[0] !== s.f[1] || !square(s.strides);
  const withPad = (pad: Pad) => ({ ...attrs, pad });
  const inputGrad = (pad: Pad) => (d: DataSource) => runKernel('Conv2DBackpropInput',
    { dy: d.floats(convOutShape(s))(), filter: d.floats(s.f)() }, { ...withPad(pad), inputShape: s.x });
  const filterGrad = (pad: Pad) => (d: DataSource) => runKernel('Conv2DBackpropFilter',
    { x: d.floats(s.x)(), dy: d.floats(convOutShape(s))() }, { ...withPad(pad), filterShape: s.f });
  const reference = nonSquare ? explicit(s.pad, s.dataFormat) : undefined;
  add('Conv2DBackpropInput', what, inputGrad(s.pad), { reference: referenceWith(reference, inputGrad) });
  add('Conv2DBackpropFilter', what, filterGrad(s.pad), { reference: referenceWith(reference, filterGrad) });
}
add('Conv2DBackpropInput', "conv2dTranspose, 'same', stride 2", (d) =>
  tf.conv2dTranspose(d.floats([1, 4, 3, 5])() as Tensor4, d.floats([3, 3, 2, 5])() as Tensor4, [1, 8, 6, 2], 2, 'same'));
add('Conv2DBackpropInput', "conv2dTranspose, 'valid', stride 1", (d) =>
  tf.conv2dTranspose(d.floats([2, 5, 4, 3])() as Tensor4, d.floats([2, 3, 4, 3])() as Tensor4, [2, 6, 6, 4], 1, 'valid'));

const DEPTHWISE: Array<[string, ConvSpec]> = [
  ["'same', stride 1, 3 channels", { x: [1, 7, 5, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same' }],
  ["'valid', stride 2, multiplier 2, 5 channels", { x: [2, 9, 7, 5], f: [3, 3, 5, 2], strides: 2, pad: 'valid' }],
  ["'same', stride 2, multiplier 3", { x: [1, 8, 6, 2], f: [3, 2, 2, 3], strides: 2, pad: 'same' }],
  ['numeric pad 1, 13 channels', { x: [1, 6, 7, 13], f: [3, 3, 13, 1], strides: 1, pad: 1 }],
  ["dilation 2, 'same'", { x: [1, 9, 8, 3], f: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 2 }],
  ['explicit padding', { x: [1, 5, 6, 2], f: [2, 3, 2, 1], strides: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] }],
  ['numeric pad 1, 3x2 filter, strides [2, 1]', { x: [1, 7, 6, 3], f: [3, 2, 3, 2], strides: [2, 1], pad: 1 }],
];
for (const [what, s] of DEPTHWISE) {
  const conv = (pad: Pad) => (d: DataSource) => tf.depthwiseConv2d(d.floats(s.x)() as Tensor4,
    d.floats(s.f)() as Tensor4, s.strides, pad, 'NHWC', s.dilations ?? 1);
  const nonSquare = s.f[0] !== s.f[1] || !square(s.strides);
  add('DepthwiseConv2dNative', what, conv(s.pad), { reference: nonSquare ? conv(explicit(s.pad)) : undefined });
}
for (const [what, s] of DEPTHWISE.filter(([, c]) => (c.dilations ?? 1) === 1)) {
  const attrs = (pad: Pad) => ({ strides: s.strides, pad, dilations: 1 });
  const reference = s.f[0] !== s.f[1] || !square(s.strides) ? explicit(s.pad) : undefined;
  const inputGrad = (pad: Pad) => (d: DataSource) => runKernel('DepthwiseConv2dNativeBackpropInput',
    { dy: d.floats(convOutShape(s, true))(), filter: d.floats(s.f)() }, { ...attrs(pad), inputShape: s.x });
  const filterGrad = (pad: Pad) => (d: DataSource) => runKernel('DepthwiseConv2dNativeBackpropFilter',
    { x: d.floats(s.x)(), dy: d.floats(convOutShape(s, true))() }, { ...attrs(pad), filterShape: s.f });
  add('DepthwiseConv2dNativeBackpropInput', what, inputGrad(s.pad), { reference: referenceWith(reference, inputGrad) });
  add('DepthwiseConv2dNativeBackpropFilter', what, filterGrad(s.pad), { reference: referenceWith(reference, filterGrad) });
}

// Fused convolutions and matrix products: bias and every activation.
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
for (const activation of ACTIVATIONS) {
  add('FusedConv2D', `bias + ${activation}`, (d) => tf.fused.conv2d({
    x: d.floats([1, 6, 5, 3], -2, 2)() as Tensor4, filter: d.floats([3, 3, 3, 4])() as Tensor4, strides: 1,
    pad: 'same', bias: d.floats([4])(), activation, leakyreluAlpha: 0.15,
    preluActivationWeights: activation === 'prelu' ? d.floats([4], 0, 0.5)() : undefined,
  }));
  add('FusedDepthwiseConv2D', `bias + ${activation}`, (d) => tf.fused.depthwiseConv2d({
    x: d.floats([1, 7, 5, 3], -2, 2)() as Tensor4, filter: d.floats([3, 3, 3, 2])() as Tensor4, strides: 2,
    pad: 'same', bias: d.floats([6])(), activation, leakyreluAlpha: 0.15,
    preluActivationWeights: activation === 'prelu' ? d.floats([6], 0, 0.5)() : undefined,
  }));
  add('_FusedMatMul', `bias + ${activation}`, (d) => tf.fused.matMul({
    a: d.floats([3, 5])(), b: d.floats([5, 4])(), bias: d.floats([4])(), activation, leakyreluAlpha: 0.1,
    preluActivationWeights: activation === 'prelu' ? d.floats([4], 0, 0.5)() : undefined,
  }));
}
add('FusedConv2D', "no bias, relu, 'valid', stride 2", (d) => tf.fused.conv2d({
  x: d.floats([2, 7, 7, 2])() as Tensor4, filter: d.floats([3, 3, 2, 3])() as Tensor4, strides: 2, pad: 'valid',
  activation: 'relu',
}));
add('FusedConv2D', 'scalar bias', (d) => tf.fused.conv2d({
  x: d.floats([1, 5, 5, 2])() as Tensor4, filter: d.floats([2, 2, 2, 3])() as Tensor4, strides: 1, pad: 'same',
  bias: given([0.5], [])(), activation: 'relu',
}));
// The fused op refuses NCHW outside gradients; the kernel itself takes it (a [C] bias then runs along axis 1).
add('FusedConv2D', 'NCHW, bias + relu', (d) => runKernel('FusedConv2D',
  { x: d.floats([1, 3, 6, 5])(), filter: d.floats([3, 3, 3, 4])(), bias: d.floats([4])() },
  { strides: 1, pad: 'same', dataFormat: 'NCHW', dilations: 1, activation: 'relu' }));
add('FusedDepthwiseConv2D', "no bias, relu6, dilation 2", (d) => tf.fused.depthwiseConv2d({
  x: d.floats([1, 8, 7, 5], -4, 8)() as Tensor4, filter: d.floats([3, 3, 5, 1])() as Tensor4, strides: 1, pad: 'same',
  dilations: 2, activation: 'relu6',
}));
add('_FusedMatMul', 'batched, transposes, relu', (d) => tf.fused.matMul({
  a: d.floats([2, 5, 3])(), b: d.floats([2, 4, 5])(), transposeA: true, transposeB: true, bias: d.floats([4])(),
  activation: 'relu',
}));

// ---------------------------------------------------------------------------------------------------------------
// Pooling

interface PoolSpec {
  x: number[];
  filter: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
const POOLS: Array<[string, PoolSpec]> = [
  ["3x3 'same' stride 1, 7x5, 3 channels", { x: [1, 7, 5, 3], filter: 3, strides: 1, pad: 'same' }],
  ["3x3 'same' stride 2, batch 2", { x: [2, 8, 7, 5], filter: 3, strides: 2, pad: 'same' }],
  ["2x2 'valid' stride 2, odd sizes", { x: [2, 7, 9, 3], filter: 2, strides: 2, pad: 'valid' }],
  ["3x2 'valid' strides [1, 2], 13 channels", { x: [1, 6, 7, 13], filter: [3, 2], strides: [1, 2], pad: 'valid' }],
  ['numeric pad 1, 3x3 stride 2', { x: [1, 7, 6, 2], filter: 3, strides: 2, pad: 1 }],
  ["4x4 'same' stride 3", { x: [1, 5, 8, 2], filter: 4, strides: 3, pad: 'same' }],
  ["1x1 'same' stride 2", { x: [1, 5, 6, 3], filter: 1, strides: 2, pad: 'same' }],
  ["dimRoundingMode 'ceil'", { x: [1, 8, 8, 2], filter: 3, strides: 2, pad: 0, dimRoundingMode: 'ceil' }],
  ['numeric pad 1, 2x3 window, strides [1, 2]', { x: [1, 6, 7, 2], filter: [2, 3], strides: [1, 2], pad: 1 }],
  ['numeric pad 1, 3x2 window, strides [2, 1]', { x: [1, 6, 7, 2], filter: [3, 2], strides: [2, 1], pad: 1 }],
];
function poolOutShape(s: PoolSpec): number[] {
  return tf.backend_util.computePool2DInfo(s.x as [number, number, number, number], s.filter, s.strides, 1,
    explicit(s.pad), s.dimRoundingMode).outShape;
}
/** Whether some pooling window reaches outside the input. */
function padded(s: PoolSpec): boolean {
  const p = tf.backend_util.computePool2DInfo(s.x as [number, number, number, number], s.filter, s.strides, 1,
    explicit(s.pad), s.dimRoundingMode);
  const reachH = (p.outHeight - 1) * p.strideHeight + p.filterHeight;
  const reachW = (p.outWidth - 1) * p.strideWidth + p.filterWidth;
  return p.padInfo.top + p.padInfo.left > 0 || reachH > p.inHeight || reachW > p.inWidth;
}

/**
 * The gradient of average pooling computed through a depthwise convolution with a ones filter, divided by the
 * number of real pixels under each window. tfjs's AvgPool leaves padding out of that count, but cpu's AvgPoolGrad
 * divides by the full window size, which is not the gradient of cpu's own AvgPool where windows reach into padding.
 */
function avgPoolGradViaConv(x: Tensor4, dy: tf.Tensor, s: PoolSpec): tf.Tensor {
  const [fh, fw] = typeof s.filter === 'number' ? [s.filter, s.filter] : s.filter;
  const ones = tf.ones([fh, fw, x.shape[3], 1]) as Tensor4;
  const windowSum = (t: Tensor4) => tf.depthwiseConv2d(t, ones, s.strides, explicit(s.pad), 'NHWC', 1, s.dimRoundingMode);
  const counts = windowSum(tf.onesLike(x));
  return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.div(windowSum(t as Tensor4), counts), dy)))(x);
}

function poolCases(what: string, s: PoolSpec, draw: Draw): void {
  const x4 = (d: DataSource) => draw(d)() as Tensor4;
  // Non-square numeric paddings are compared with the explicit form on cpu (see explicit()).
  const refPad = square(s.filter) && square(s.strides) ? undefined : explicit(s.pad);
  const attrs = (pad: Pad) => ({ filterSize: s.filter, strides: s.strides, pad, dimRoundingMode: s.dimRoundingMode });
  const maxPool = (pad: Pad) => (d: DataSource) => tf.maxPool(x4(d), s.filter, s.strides, pad, s.dimRoundingMode);
  const avgPool = (pad: Pad) => (d: DataSource) => tf.avgPool(x4(d), s.filter, s.strides, pad, s.dimRoundingMode);
  add('MaxPool', what, maxPool(s.pad), { reference: referenceWith(refPad, maxPool) });
  add('AvgPool', what, avgPool(s.pad), { reference: referenceWith(refPad, avgPool) });
  const avgGrad = (pad: Pad) => (d: DataSource) =>
    runKernel('AvgPoolGrad', { input: x4(d), dy: d.floats(poolOutShape(s))() }, attrs(pad));
  add('AvgPoolGrad', what, avgGrad(s.pad), {
    reference: padded(s) ? (d) => avgPoolGradViaConv(x4(d), d.floats(poolOutShape(s))(), s) : referenceWith(refPad, avgGrad),
  });
  const maxGrad = (pad: Pad) => (d: DataSource) => {
    const input = x4(d);
    const output = tf.maxPool(input, s.filter, s.strides, pad, s.dimRoundingMode);
    return runKernel('MaxPoolGrad', { input, output, dy: d.floats(poolOutShape(s))() }, attrs(pad));
  };
  add('MaxPoolGrad', what, maxGrad(s.pad), { reference: referenceWith(refPad, maxGrad) });
}
for (const [what, s] of POOLS) poolCases(what, s, (d) => d.floats(s.x, -3, 3));
// Integer-valued input with three distinct values: ties everywhere; the gradient goes to the first maximum.
poolCases("ties, 3x3 'same'", { x: [1, 6, 5, 2], filter: 3, strides: 1, pad: 'same' },
  (d) => make(d.ints([1, 6, 5, 2], 0, 3).values, [1, 6, 5, 2]));

// Deliberate deviation (see the top of this file): NaN propagates through MaxPool on libtorch; cpu skips it.
// Explicit values: [[1, NaN], [5, 6]] gives NaN (cpu: 6), an all-NaN window NaN (cpu: -Infinity).
add('MaxPool', "NaN propagates (cpu: the window's largest number), explicit values", () => tf.maxPool(given([
  1, NaN, 3, 4,
  5, 6, 7, 8,
  NaN, NaN, -Infinity, 2,
  NaN, NaN, 0, -1,
], [1, 4, 4, 1])() as Tensor4, 2, 2, 'valid'), {
  check: ([out]) => {
    const diff = difference([out], [{ shape: [1, 2, 2, 1], dtype: 'float32', values: [NaN, 8, NaN, 2] }]);
    if (diff) throw new Error(diff);
  },
});
/** cpu's MaxPool with NaN propagated: NaN wherever the window holds one. */
function maxPoolPropagatingNaN(x: Tensor4, filter: number, strides: number, pad: 'same' | 'valid'): tf.Tensor {
  const pooled = tf.maxPool(x, filter, strides, pad);
  const hasNaN = tf.maxPool(tf.cast(tf.isNaN(x), 'float32') as Tensor4, filter, strides, pad);
  return tf.where(tf.greater(hasNaN, 0), tf.fill(pooled.shape, NaN), pooled);
}
// Random values with a NaN in every seventh place, in 2 channels (ATen's channels-last kernel); 3x3 'same' pads
// symmetrically (ATen's own padding), 2x2 'same' only below and right (padded explicitly with -inf).
for (const [filter, what] of [[3, "3x3 'same'"], [2, "2x2 'same', padded below and right"]] as const) {
  const x = (d: DataSource) => make(d.floats([1, 5, 6, 2], -3, 3).values.map((v, i) => (i % 7 === 3 ? NaN : v)),
    [1, 5, 6, 2])() as Tensor4;
  add('MaxPool', `NaN propagates, ${what}, 2 channels`, (d) => tf.maxPool(x(d), filter, 1, 'same'),
    { reference: (d) => maxPoolPropagatingNaN(x(d), filter, 1, 'same') });
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes and data movement

add('Reshape', 'float32 with -1', (d) => tf.reshape(floatCube(d)(), [4, -1]));
add('Reshape', 'int32 to rank 1', (d) => tf.reshape(intCube(d)(), [60]));
add('Reshape', 'bool', (d) => tf.reshape(boolCube(d)(), [5, 3, 4]));
add('Reshape', 'to a scalar', () => tf.reshape(given([3], [1, 1])(), []));
add('ExpandDims', 'axis 0', (d) => tf.expandDims(floatCube(d)()));
add('ExpandDims', 'axis -1, int32', (d) => tf.expandDims(intCube(d)(), -1));
add('ExpandDims', 'middle axis, bool', (d) => tf.expandDims(boolCube(d)(), 2));
add('ExpandDims', 'scalar', () => tf.expandDims(given([3], [])(), 0));
add('Transpose', 'rank 3', (d) => tf.transpose(floatCube(d)(), [2, 0, 1]));
add('Transpose', 'rank 4 int32', (d) => tf.transpose(d.ints([2, 3, 1, 4])(), [3, 1, 0, 2]));
add('Transpose', 'bool, default perm', (d) => tf.transpose(d.bools([3, 4])()));
add('Slice', 'begin and size', (d) => tf.slice(floatCube(d)(), [1, 0, 2], [2, 3, 2]));
add('Slice', 'size -1, int32', (d) => tf.slice(intCube(d)(), [0, 2], [-1, -1]));
add('Slice', 'bool, empty', (d) => tf.slice(boolCube(d)(), [1, 1, 1], [1, 0, 2]));

// [what, begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask] on a [3, 4, 5] cube
const SLICES: Array<[string, number[], number[], number[], number, number, number, number, number]> = [
  ['positive strides', [0, 1, 0], [3, 4, 5], [2, 1, 2], 0, 0, 0, 0, 0],
  ['negative strides', [2, 3, 4], [0, 0, 0], [-1, -2, -3], 0, 0, 0, 0, 0],
  ['negative strides to the start (end mask)', [-1, -1, 3], [0, 0, 0], [-2, -1, -1], 0, 0b111, 0, 0, 0],
  ['begin and end masks', [1, 2, 3], [2, 3, 4], [1, 1, 1], 0b101, 0b010, 0, 0, 0],
  ['negative indices', [-2, -3, -4], [-1, -1, -1], [1, 1, 1], 0, 0, 0, 0, 0],
  ['shrink axis', [1, 0, 2], [2, 4, 3], [1, 1, 1], 0, 0, 0, 0, 0b101],
  ['new axis', [0, 0, 0], [2, 2, 2], [1, 1, 1], 0, 0, 0, 0b010, 0],
  ['ellipsis', [1], [3], [1], 0, 0, 0b1, 0, 0],
  ['out-of-range bounds clamp', [-10, 1, 0], [10, 100, 5], [1, 2, 3], 0, 0, 0, 0, 0],
];
for (const [what, begin, end, strides, bm, em, elm, nam, sam] of SLICES) {
  add('StridedSlice', what, (d) => tf.stridedSlice(floatCube(d)(), begin, end, strides, bm, em, elm, nam, sam));
}
// cpu slices one row where begin > end and then fails to reshape it to the empty result: compared with tf.slice.
add('StridedSlice', 'empty result', (d) => tf.stridedSlice(floatCube(d)(), [2, 0, 0], [1, 4, 5], [1, 1, 1]),
  { reference: (d) => tf.slice(floatCube(d)(), [2, 0, 0], [0, 4, 5]) });
add('StridedSlice', 'int32, negative stride', (d) => tf.stridedSlice(intCube(d)(), [0, 3], [3, 0], [1, -1]));
add('StridedSlice', 'bool rank 1 reversed by 2', (d) => tf.stridedSlice(d.bools([7])(), [6], [0], [-2], 0, 1));

add('Concat', 'axis 0, three inputs', (d) => tf.concat([d.floats([2, 3])(), d.floats([1, 3])(), d.floats([3, 3])()], 0));
add('Concat', 'axis -1', (d) => tf.concat([d.floats([2, 2, 1])(), d.floats([2, 2, 3])()], -1));
add('Concat', 'int32 with an empty input', (d) => tf.concat([d.ints([2, 0])(), d.ints([2, 3])()], 1));
add('Concat', 'bool, axis 1', (d) => tf.concat([d.bools([2, 1])(), d.bools([2, 2])()], 1));
add('Concat', 'all inputs empty', (d) => tf.concat([d.floats([0, 3])(), d.floats([0, 3])()], 0));
add('Pack', 'axis 0', (d) => tf.stack([d.floats([2, 3])(), d.floats([2, 3])()]));
add('Pack', 'axis 2, int32', (d) => tf.stack([d.ints([2, 3])(), d.ints([2, 3])(), d.ints([2, 3])()], 2));
add('Pack', 'bool scalars', () => tf.stack([given([1], [], 'bool')(), given([0], [], 'bool')()]));
add('Unpack', 'axis 0', (d) => tf.unstack(floatCube(d)()));
add('Unpack', 'axis -1, int32', (d) => tf.unstack(intCube(d)(), -1));
add('Unpack', 'bool, axis 1', (d) => tf.unstack(boolCube(d)(), 1));
add('SplitV', 'three equal parts', (d) => tf.split(d.floats([6, 2])(), 3));
add('SplitV', 'sizes with -1, axis -1', (d) => tf.split(floatCube(d)(), [1, -1, 2], -1));
add('SplitV', 'int32, axis 1', (d) => tf.split(intCube(d)(), [3, 1], 1));

add('GatherV2', 'axis 0, float32', (d) => tf.gather(d.floats([4, 3])(), given([3, 0, 2, 2, 1], [5], 'int32')()));
add('GatherV2', 'axis 1, rank-2 indices', (d) => tf.gather(floatCube(d)(), given([0, 3, 1, 1, 2, 0], [2, 3], 'int32')(), 1));
add('GatherV2', 'axis -1, int32', (d) => tf.gather(intCube(d)(), given([4, 0], [2], 'int32')(), -1));
add('GatherV2', 'bool', (d) => tf.gather(boolCube(d)(), given([2, 0], [2], 'int32')(), 0));
add('GatherV2', 'batchDims 1', (d) => tf.gather(floatCube(d)(), given([0, 3, 1, 1, 2, 0], [3, 2], 'int32')(), 1, 1));
add('GatherV2', 'scalar index', (d) => tf.gather(floatCube(d)(), given([2], [], 'int32')(), 2));
add('GatherNd', 'index pairs', (d) => tf.gatherND(floatCube(d)(), given([0, 1, 2, 3, 1, 0], [3, 2], 'int32')()));
add('GatherNd', 'full indices, int32', (d) => tf.gatherND(intCube(d)(), given([0, 1, 2, 2, 3, 4], [2, 3], 'int32')()));
add('GatherNd', 'rank-3 indices', (d) => tf.gatherND(d.floats([4, 3])(), given([0, 1, 2, 3], [2, 2, 1], 'int32')()));
add('ScatterNd', 'duplicates add up', (d) =>
  tf.scatterND(given([0, 2, 0, 1], [4, 1], 'int32')(), d.floats([4, 3])(), [3, 3]));
add('ScatterNd', 'int32 updates, 2-d indices', (d) =>
  tf.scatterND(given([0, 1, 2, 0, 0, 1], [3, 2], 'int32')(), d.ints([3])(), [3, 4]));
add('Tile', 'float32', (d) => tf.tile(d.floats([2, 3])(), [2, 3]));
add('Tile', 'int32 rank 3', (d) => tf.tile(d.ints([1, 2, 3])(), [3, 1, 2]));
add('Tile', 'bool', (d) => tf.tile(d.bools([2])(), [3]));
add('Reverse', 'one axis', (d) => tf.reverse(floatCube(d)(), 1));
add('Reverse', 'negative and several axes', (d) => tf.reverse(floatCube(d)(), [0, -1]));
add('Reverse', 'all axes (default), int32', (d) => tf.reverse(intCube(d)()));
add('Reverse', 'bool', (d) => tf.reverse(d.bools([3, 4])(), [1]));
add('PadV2', 'constant value', (d) => tf.pad(floatCube(d)(), [[1, 0], [0, 2], [2, 1]], 1.5));
add('PadV2', 'int32', (d) => tf.pad(d.ints([2, 3])(), [[0, 1], [3, 0]], 7));
add('PadV2', 'zero padding', (d) => tf.pad(d.floats([2, 3])(), [[0, 0], [0, 0]]));
for (const mode of ['reflect', 'symmetric'] as const) {
  add('MirrorPad', `${mode}, rank 2`, (d) => tf.mirrorPad(d.floats([3, 4])(), [[2, 1], [1, 3]], mode));
  add('MirrorPad', `${mode}, rank 4 image`, (d) =>
    tf.mirrorPad(d.floats([1, 4, 5, 2])(), [[0, 0], [2, 2], [1, 3], [0, 0]], mode));
  add('MirrorPad', `${mode}, int32 rank 1, widest padding`, (d) =>
    tf.mirrorPad(d.ints([5])(), [[mode === 'reflect' ? 4 : 5, 2]], mode));
}
// tf.broadcastTo is a Tile; the BroadcastTo kernel, which cpu lacks, is compared with it.
const BROADCAST_TO: Array<[number[], number[], 'float32' | 'int32' | 'bool']> = [
  [[3, 1], [2, 3, 4], 'float32'], [[], [2, 2], 'float32'], [[1, 4], [3, 4], 'int32'], [[2, 1, 3], [2, 4, 3], 'bool'],
];
for (const [from, to, dtype] of BROADCAST_TO) {
  const draw = (d: DataSource) => (dtype === 'float32' ? d.floats(from) : dtype === 'int32' ? d.ints(from) : d.bools(from));
  const padded = [...new Array<number>(to.length - from.length).fill(1), ...from];
  add('BroadcastTo', `${dtype} [${from}] -> [${to}]`,
    (d) => runKernel('BroadcastTo', { x: tf.reshape(draw(d)(), padded) }, { shape: to, inputShape: padded }),
    { reference: (d) => tf.broadcastTo(draw(d)(), to) });
}
add('UnsortedSegmentSum', 'rank 1', (d) =>
  tf.unsortedSegmentSum(d.floats([6])(), given([0, 2, 0, 1, 2, 2], [6], 'int32')() as tf.Tensor1D, 4));
add('UnsortedSegmentSum', 'rows, with out-of-range ids', (d) => runKernel('UnsortedSegmentSum',
  { x: d.floats([5, 3])(), segmentIds: given([1, -1, 1, 3, 0], [5], 'int32')() }, { numSegments: 3 }));
// int32 data sums to int32, as in TensorFlow and tfjs's webgl backend; cpu's composite implementation (a float32
// mask times x) returns float32, so its values are compared after a cast.
add('UnsortedSegmentSum', 'int32', (d) =>
  tf.unsortedSegmentSum(d.ints([4, 2])(), given([1, 1, 0, 1], [4], 'int32')() as tf.Tensor1D, 2),
{ reference: (d) => tf.cast(tf.unsortedSegmentSum(d.ints([4, 2])(), given([1, 1, 0, 1], [4], 'int32')() as tf.Tensor1D, 2), 'int32') });
add('OneHot', 'int32 default', () => tf.oneHot(given([0, 3, 1, 2], [4], 'int32')(), 4));
add('OneHot', 'out-of-range and negative indices', () => tf.oneHot(given([-1, 5, 2], [3], 'int32')(), 3));
add('OneHot', 'rank 2, on/off values, float32', () => tf.oneHot(given([0, 2, 1, 1], [2, 2], 'int32')(), 3, 5, -1, 'float32'));
add('OneHot', 'fractional on/off values, int32', () => tf.oneHot(given([1, 0], [2], 'int32')(), 2, 2.7, -0.5));

// ---------------------------------------------------------------------------------------------------------------
// Creation

add('Fill', 'float32', () => tf.fill([2, 3], 1.25));
add('Fill', 'int32', () => tf.fill([4], 7, 'int32'));
add('Fill', 'bool', () => tf.fill([2, 2], 1, 'bool'));
add('Fill', 'empty', () => tf.fill([0, 3], 2));
const RANGES: Array<[number, number, number | undefined, 'float32' | 'int32']> = [
  [0, 10, 3, 'float32'], [5, 0, undefined, 'float32'], [5, 0, -2, 'float32'], [0, 1, 0.25, 'float32'],
  [1, 5, -1, 'float32'], [3, 3, 1, 'float32'], [-3, 4, 2, 'int32'], [10, -10, -3, 'int32'], [6, 1, 2, 'float32'],
  [0.5, 3.2, 0.7, 'float32'], [2, -1, 0.5, 'float32'], [0, 2, 0.5, 'int32'], [-3.5, 4, 1.5, 'int32'],
];
for (const [start, stop, step, dtype] of RANGES) {
  add('Range', `${start} to ${stop} step ${step ?? 'default'}, ${dtype}`, () => tf.range(start, stop, step, dtype));
}
add('LinSpace', '0 to 1, 5', () => tf.linspace(0, 1, 5));
add('LinSpace', 'decreasing, 7', () => tf.linspace(5, -3, 7));
add('LinSpace', 'num 1', () => tf.linspace(2, 9, 1));

/** Multinomial is random: shape, dtype, range, and the empirical frequencies of a peaked distribution. */
function multinomialCheck(probs: number[][], samples: number, shape: number[]): (outputs: Output[]) => void {
  return ([out]) => {
    if (out.dtype !== 'int32') throw new Error(`dtype ${out.dtype}, expected int32`);
    if (out.shape.join() !== shape.join()) throw new Error(`shape [${out.shape}], expected [${shape}]`);
    probs.forEach((row, b) => {
      const counts = new Array<number>(row.length).fill(0);
      for (let i = 0; i < samples; i++) {
        const v = out.values[b * samples + i];
        if (!Number.isInteger(v) || v < 0 || v >= row.length) throw new Error(`sample ${v} out of range`);
        counts[v]++;
      }
      row.forEach((p, k) => {
        // Five binomial standard deviations (+ 0.5%) keep the test from flaking.
        const sigma = Math.sqrt((p * (1 - p)) / samples);
        if (Math.abs(counts[k] / samples - p) > 5 * sigma + 0.005) {
          throw new Error(`row ${b} event ${k}: frequency ${counts[k] / samples}, probability ${p}`);
        }
      });
    });
  };
}
{
  const probs = [[0.9, 0.05, 0.03, 0.02], [0.1, 0.1, 0.1, 0.7]];
  const logits = probs.map((row) => row.map(Math.log));
  add('Multinomial', 'normalized probabilities', () => tf.multinomial(given(probs.flat(), [2, 4])() as tf.Tensor2D, 4000, 7, true),
    { check: multinomialCheck(probs, 4000, [2, 4000]) });
  add('Multinomial', 'logits, rank 1', () => tf.multinomial(given(logits[0])() as tf.Tensor1D, 4000, 11),
    { check: multinomialCheck([probs[0]], 4000, [4000]) });
  add('Multinomial', 'logits, without a seed', () => tf.multinomial(given(logits.flat(), [2, 4])() as tf.Tensor2D, 3000),
    { check: multinomialCheck(probs, 3000, [2, 3000]) });
}

// ---------------------------------------------------------------------------------------------------------------
// Linear algebra

add('BatchMatMul', '2-d', (d) => tf.matMul(d.floats([3, 5])(), d.floats([5, 4])()));
add('BatchMatMul', 'transposeA and transposeB', (d) => tf.matMul(d.floats([5, 3])(), d.floats([4, 5])(), true, true));
add('BatchMatMul', 'batched, transposeB', (d) => tf.matMul(d.floats([2, 3, 5])(), d.floats([2, 4, 5])(), false, true));
// cpu pairs batch i of a with batch i % batchB of b, right only when one side has a single batch: a [2, 1]
// against [3] batch is compared with explicitly broadcast operands.
add('BatchMatMul', 'broadcast batch dims', (d) => tf.matMul(d.floats([2, 1, 3, 4])(), d.floats([3, 4, 2])()),
  { reference: (d) => tf.matMul(tf.broadcastTo(d.floats([2, 1, 3, 4])(), [2, 3, 3, 4]), tf.broadcastTo(d.floats([3, 4, 2])(), [2, 3, 4, 2])) });
add('BatchMatMul', 'batch 1 against batch 3', (d) => tf.matMul(d.floats([1, 2, 3])(), d.floats([3, 3, 2])()));
add('BatchMatMul', 'int32', (d) => tf.matMul(d.ints([2, 3], -5, 5)(), d.ints([3, 2], -5, 5)()));
// 64 products per output, summed in a different order: a looser absolute tolerance.
add('BatchMatMul', 'inner dimension 64', (d) => tf.matMul(d.floats([3, 64])(), d.floats([64, 2])()), { tol: { atol: 1e-4 } });
const EINSUMS: Array<[string, number[][]]> = [
  ['ij,jk->ik', [[3, 4], [4, 5]]], ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]], ['ij->ji', [[3, 5]]],
  ['i,i->', [[6], [6]]], ['ij,j->i', [[3, 4], [4]]], ['ij->', [[3, 4]]], ['i,j->ij', [[3], [4]]],
];
for (const [equation, shapes] of EINSUMS) {
  add('Einsum', equation, (d) => tf.einsum(equation, ...shapes.map((s) => d.floats(s)())));
}
{
  const stats = (d: DataSource, c: number) => [d.floats([c])(), d.floats([c], 0.1, 2)(), d.floats([c])(), d.floats([c], 0.5, 2)()];
  add('FusedBatchNorm', 'rank 4 with offset and scale', (d) => {
    const [mean, variance, offset, scale] = stats(d, 5);
    return tf.batchNorm(d.floats([2, 3, 4, 5], -2, 2)(), mean, variance, offset, scale, 0.001);
  });
  add('FusedBatchNorm', 'without offset and scale', (d) => {
    const [mean, variance] = stats(d, 5);
    return tf.batchNorm(d.floats([2, 3, 4, 5], -2, 2)(), mean, variance);
  });
  add('FusedBatchNorm', 'rank 2, scale only', (d) => {
    const [mean, variance, , scale] = stats(d, 3);
    return tf.batchNorm(d.floats([4, 3])(), mean, variance, undefined, scale, 0.01);
  });
  add('FusedBatchNorm', 'full-shape statistics', (d) =>
    tf.batchNorm(d.floats([2, 3])(), d.floats([2, 3])(), d.floats([2, 3], 0.5, 1)(), d.floats([2, 3])(), d.floats([2, 3])()));
}

// ---------------------------------------------------------------------------------------------------------------
// Images

const RESIZES: Array<[string, number[], [number, number], boolean, boolean]> = [
  ['7x5 up to 9x11', [1, 7, 5, 3], [9, 11], false, false],
  ['7x5 down to 4x3, batch 2', [2, 7, 5, 2], [4, 3], false, false],
  ['7x5 to 4x9, align corners', [1, 7, 5, 3], [4, 9], true, false],
  ['5x6 up to 8x13, half-pixel centres', [1, 5, 6, 2], [8, 13], false, true],
  ['9x7 down to 4x3, half-pixel centres', [2, 9, 7, 1], [4, 3], false, true],
  ['to 1x1, align corners', [1, 4, 5, 2], [1, 1], true, false],
  ['to 1x1, half-pixel centres', [1, 4, 5, 2], [1, 1], false, true],
  ['same size', [1, 4, 3, 2], [4, 3], false, false],
];
for (const [what, shape, size, alignCorners, halfPixelCenters] of RESIZES) {
  add('ResizeBilinear', what, (d) =>
    tf.image.resizeBilinear(d.floats(shape)() as Tensor4, size, alignCorners, halfPixelCenters));
  add('ResizeNearestNeighbor', what, (d) =>
    tf.image.resizeNearestNeighbor(d.floats(shape)() as Tensor4, size, alignCorners, halfPixelCenters));
}
add('ResizeBilinear', 'int32 images give float32', (d) => tf.image.resizeBilinear(d.ints([1, 3, 3, 1])() as Tensor4, [5, 5]));
add('ResizeNearestNeighbor', 'int32 images keep int32', (d) =>
  tf.image.resizeNearestNeighbor(d.ints([1, 3, 3, 1])() as Tensor4, [5, 4]));
// cpu's ResizeBilinearGrad and ResizeNearestNeighborGrad ignore halfPixelCenters, and its ResizeBilinearGrad
// returns [batch, width, height, depth]: they are compared with cpu only on square images without half-pixel
// centres; gradients.test.ts checks the other settings numerically.
const RESIZE_GRADS: Array<[string, number[], [number, number], boolean]> = [
  ['5x5 up to 8x8', [1, 5, 5, 2], [8, 8], false],
  ['6x6 down to 4x4, batch 2', [2, 6, 6, 3], [4, 4], false],
  ['4x4 to 7x7, align corners', [1, 4, 4, 2], [7, 7], true],
  ['6x6 to 3x3, align corners', [1, 6, 6, 1], [3, 3], true],
];
/**
 * cpu's ResizeNearestNeighborGrad reads dy at offsets computed from the images' strides, past the end of dy from
 * the second batch element on when the sizes differ: it is run one batch element at a time.
 */
function nearestGradPerImage(inputs: { images: tf.Tensor; dy: tf.Tensor }, attrs: object): tf.Tensor {
  const images = tf.split(inputs.images, inputs.images.shape[0]);
  const dys = tf.split(inputs.dy, inputs.dy.shape[0]);
  return tf.concat(images.map((image, b) => runKernel('ResizeNearestNeighborGrad', { images: image, dy: dys[b] }, attrs) as tf.Tensor));
}
for (const [what, shape, size, alignCorners] of RESIZE_GRADS) {
  const attrs = { alignCorners, halfPixelCenters: false, size };
  const inputs = (d: DataSource) => ({ images: d.floats(shape)(), dy: d.floats([shape[0], size[0], size[1], shape[3]])() });
  add('ResizeBilinearGrad', what, (d) => runKernel('ResizeBilinearGrad', inputs(d), attrs));
  add('ResizeNearestNeighborGrad', what, (d) => runKernel('ResizeNearestNeighborGrad', inputs(d), attrs),
    { reference: (d) => nearestGradPerImage(inputs(d), attrs) });
}
add('ResizeNearestNeighborGrad', 'non-square 7x5 to 3x8', (d) => runKernel('ResizeNearestNeighborGrad',
  { images: d.floats([1, 7, 5, 2])(), dy: d.floats([1, 3, 8, 2])() }, { alignCorners: false, halfPixelCenters: false, size: [3, 8] }));
add('FlipLeftRight', 'batch 2, 3 channels', (d) => tf.image.flipLeftRight(d.floats([2, 4, 5, 3])() as Tensor4));
add('FlipLeftRight', 'width 1', (d) => tf.image.flipLeftRight(d.floats([1, 3, 1, 2])() as Tensor4));
// More CropAndResize cases (nearest, extrapolation, 1-pixel crops, indices outside the batch): cropAndResize.test.ts.
add('CropAndResize', 'bilinear; boxes inside, flipped and partly outside', (d) => tf.image.cropAndResize(
  d.floats([2, 6, 7, 3])() as Tensor4, given([0.1, 0.2, 0.9, 0.75, 0.9, 0.8, 0.1, 0.2, -0.3, -0.2, 1.2, 1.1], [3, 4])() as tf.Tensor2D,
  given([0, 1, 1], [3], 'int32')() as tf.Tensor1D, [5, 4]));

export const KERNEL_CASES: readonly KernelCase[] = cases;
