// Bad input never crashes the process: kernels raise JS Errors naming the kernel and the input shapes.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../engine/libtorch/addon.ts';
import type { LibtorchBackend } from '../../engine/libtorch/backend.ts';
import { initBackend } from '../../engine/index.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

/** Runs `f`, expecting a JS Error; returns its message. */
function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

function stillWorks(): void {
  expect(tf.add(tf.ones([2]), tf.ones([2])).arraySync()).toEqual([2, 2]);
}

describe('errors from the libtorch backend', () => {
  it('reports a shape mismatch with the kernel and the shapes', () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([4]);
    const message = messageOf(() => tf.engine().runKernel('Add', { a, b }));
    expect(message).toContain('Add');
    expect(message).toContain('float32[2,3]');
    expect(message).toContain('float32[4]');
    expect(message).not.toContain('\n');
    stillWorks();
  });

  it('reports a convolution whose filter does not match the input channels', () => {
    const x = tf.ones([1, 5, 5, 3]);
    const filter = tf.ones([3, 3, 4, 2]);
    const message = messageOf(() => tf.engine().runKernel('Conv2D', { x, filter },
      { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 }));
    expect(message).toContain('Conv2D');
    expect(message).toContain('float32[1,5,5,3]');
    expect(message).toContain('float32[3,3,4,2]');
    stillWorks();
  });

  it('reports a matrix product with mismatched inner dimensions', () => {
    const message = messageOf(() => tf.engine().runKernel('BatchMatMul', { a: tf.ones([2, 3]), b: tf.ones([4, 5]) },
      { transposeA: false, transposeB: false }));
    expect(message).toMatch(/BatchMatMul.*float32\[2,3\].*float32\[4,5\]/);
    stillWorks();
  });

  it('reports an unsupported dtype', () => {
    const x = tf.ones([2]);
    const cast = messageOf(() => tf.engine().runKernel('Cast', { x }, { dtype: 'complex64' }));
    expect(cast).toContain('Cast');
    expect(cast).toContain('float32[2]');
    expect(cast).toContain('complex64');
    const strings = messageOf(() => tf.tensor(['a', 'b']));
    expect(strings).toContain('string');
    expect(strings).toContain('[2]');
    stillWorks();
  });

  it('reports a tfjs kernel that libtorch does not implement, with the input shapes', () => {
    const message = messageOf(() => tf.engine().runKernel('Unique', { x: tf.tensor1d([1, 2, 2], 'int32') }, { axis: 0 }));
    expect(message).toContain('Unique');
    expect(message).toContain('int32[3]');
    stillWorks();
  });

  it('reports a kernel name nobody registered', () => {
    // tfjs rejects a name no backend registers before any backend sees the call, so its message has the kernel
    // and the backend but not the shapes (every kernel name tfjs declares gets the shapes, as above).
    const message = messageOf(() => tf.engine().runKernel('NoSuchKernel', { x: tf.ones([1]) }));
    expect(message).toContain('NoSuchKernel');
    expect(message).toContain('libtorch');
    stillWorks();
  });

  it('turns misuse of the addon itself into Errors', () => {
    const addon = loadAddon();
    expect(messageOf(() => addon.read(1e9))).toMatch(/not live/);
    expect(messageOf(() => addon.release(-1))).toMatch(/not live/);
    expect(messageOf(() => addon.write(new Float32Array(3), [2, 2], 0))).toMatch(/12 bytes.*4 elements/);
    expect(messageOf(() => addon.unary(10_000, 1, 0))).toMatch(/out of range/);
    expect(messageOf(() => (addon.reshape as (...args: unknown[]) => unknown)('not a handle', [1]))).toMatch(/handle/);
    stillWorks();
  });
});

/** Runs a kernel directly (skipping tfjs's own argument checks) and expects an Error naming it and `fragments`. */
function expectKernelError(kernel: string, inputs: Record<string, tf.Tensor>, attrs: object, fragments: string[]): string {
  const message = messageOf(() => tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap));
  expect(message).toContain(kernel);
  for (const fragment of fragments) expect(message).toContain(fragment);
  expect(message).not.toContain('\n');
  stillWorks();
  return message;
}

function handleOf(t: tf.Tensor): number {
  return (tf.backend() as LibtorchBackend).handle(t);
}

// Native code that trusts argument shapes (raw-pointer loops, shape vectors indexed by an argument, index values
// on CUDA) must check them: each case would read or write out of bounds without its check.
describe('native argument checks', () => {
  const quant = { levels: 4, delta: 0, signed: false };

  it('fake quantization gradient: dy smaller than x', () => {
    const inputs = { dy: tf.ones([2]), x: tf.ones([64]), lower: tf.scalar(0), upper: tf.scalar(1) };
    expectKernelError('FakeQuantizeGrad', inputs, quant, ['float32[2]', 'float32[64]', 'dy']);
    expectKernelError('FakeQuantizeGrad', inputs, { ...quant, forceComposite: true }, ['float32[2]', 'float32[64]']);
    const perChannel = { dy: tf.ones([3, 2]), x: tf.ones([3, 4]), lower: tf.zeros([4]), upper: tf.ones([4]) };
    expectKernelError('FakeQuantizeGrad', perChannel, quant, ['float32[3,2]', 'float32[3,4]']);
  });

  it('batch-norm training: statistics, scale or dy of the wrong shape', () => {
    const x = tf.ones([8, 4]);
    expectKernelError('BatchNormTraining', { x, scale: tf.ones([2]), offset: tf.zeros([4]) }, { epsilon: 1e-5 },
      ['float32[8,4]', 'scale float32[2]']);
    expectKernelError('BatchNormTraining', { x: tf.ones([8]), scale: tf.ones([1]), offset: tf.zeros([1]) },
      { epsilon: 1e-5 }, ['float32[8]', 'rank 4']);
    const c = { scale: tf.ones([4]), mean: tf.zeros([4]), invStd: tf.ones([4]) };
    expectKernelError('BatchNormTrainingGrad', { dy: tf.ones([1, 2]), x, ...c }, { epsilon: 1e-5 },
      ['dy float32[1,2]', 'float32[8,4]']);
    expectKernelError('BatchNormTrainingGrad', { dy: x, x, ...c, invStd: tf.ones([3]) }, { epsilon: 1e-5 },
      ['invStd float32[3]']);
    expectKernelError('BatchNormTrainingGrad', { dy: x, x, ...c, dMean: tf.ones([1]) }, { epsilon: 1e-5 },
      ['dMean float32[1]']);
  });

  it('resize gradients: dy that is not rank 4', () => {
    const images = tf.ones([1, 4, 4, 1]);
    const attrs = { alignCorners: false, halfPixelCenters: false };
    for (const kernel of ['ResizeBilinearGrad', 'ResizeNearestNeighborGrad']) {
      expectKernelError(kernel, { images, dy: tf.ones([2, 2]) }, attrs, ['float32[2,2]', 'float32[1,4,4,1]']);
      expectKernelError(kernel, { images, dy: tf.ones([1, 2, 2, 3]) }, attrs, ['float32[1,2,2,3]']);
    }
    // The addon's own check, for callers other than these kernels.
    const addon = loadAddon();
    const dy = tf.ones([2, 2]);
    expect(messageOf(() => addon.interpAxisGrad(handleOf(dy), 2, 4, [0, 1], [1, 2], [0.5, 0.5])))
      .toMatch(/interpAxisGrad: dy float32\[2,2\] must have rank 4/);
    const dy4 = tf.ones([1, 2, 2, 1]);
    expect(messageOf(() => addon.interpAxisGrad(handleOf(dy4), 2, 4, [0, 9], [1, 2], [0.5, 0.5])))
      .toMatch(/interpAxisGrad: index 9 is out of range \[0, 4\)/);
    expect(messageOf(() => addon.interpAxisGrad(handleOf(dy4), 2, 4, [0], [1], [0.5])))
      .toMatch(/interpAxisGrad: i0 .* 1 entries, expected 2/);
    stillWorks();
  });

  it('pad and mirror pad: paddings that do not cover every dimension, or reach past the edge', () => {
    const x = tf.ones([2, 3]);
    expectKernelError('PadV2', { x }, { paddings: [[1, 1]], constantValue: 0 }, ['float32[2,3]', 'paddings']);
    expectKernelError('MirrorPad', { x }, { paddings: [[1, 1]], mode: 'reflect' }, ['float32[2,3]', 'paddings']);
    expectKernelError('MirrorPad', { x }, { paddings: [[0, 0], [3, 3]], mode: 'reflect' }, ['float32[2,3]', '[3,3]']);
    expectKernelError('MirrorPad', { x }, { paddings: [[0, 0], [4, 0]], mode: 'symmetric' }, ['float32[2,3]', '[4,0]']);
  });

  it('gather and gatherNd: indices out of range (a device-side assert on CUDA without the check)', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    expectKernelError('GatherV2', { x, indices: tf.tensor1d([0, 5], 'int32') }, { axis: 0, batchDims: 0 },
      ['float32[3,2]', 'int32[2]', 'index 5']);
    expectKernelError('GatherV2', { x, indices: tf.tensor1d([-1], 'int32') }, { axis: 1, batchDims: 0 },
      ['float32[3,2]', 'index -1']);
    expectKernelError('GatherV2', { x, indices: tf.tensor2d([[0], [1]], [2, 1], 'int32') }, { axis: 1, batchDims: 1 },
      ['float32[3,2]', 'int32[2,1]', 'batchDims']);
    expectKernelError('GatherNd', { params: x, indices: tf.tensor2d([[0, 2]], [1, 2], 'int32') }, {},
      ['float32[3,2]', 'int32[1,2]', '[0,2]']);
    expectKernelError('GatherNd', { params: x, indices: tf.tensor2d([[0, 0, 0]], [1, 3], 'int32') }, {},
      ['float32[3,2]', 'int32[1,3]']);
  });

  it('scatterNd: index tuples longer than the shape, out of range, or updates of the wrong size', () => {
    const updates = tf.ones([2]);
    expectKernelError('ScatterNd', { indices: tf.tensor2d([[0, 0, 0], [1, 1, 1]], [2, 3], 'int32'), updates },
      { shape: [2, 2] }, ['int32[2,3]', '[2,2]']);
    expectKernelError('ScatterNd', { indices: tf.tensor2d([[0], [7]], [2, 1], 'int32'), updates }, { shape: [4] },
      ['int32[2,1]', '[7]']);
    expectKernelError('ScatterNd', { indices: tf.tensor2d([[0], [1]], [2, 1], 'int32'), updates: tf.ones([3]) },
      { shape: [4] }, ['float32[3]', 'int32[2,1]']);
  });

  it('unsortedSegmentSum: segment ids that are not a leading part of x', () => {
    expectKernelError('UnsortedSegmentSum', { x: tf.ones([4]), segmentIds: tf.zeros([4, 2], 'int32') },
      { numSegments: 2 }, ['float32[4]', 'int32[4,2]']);
  });

  it('optimizer updates: gradient or state of another shape than the parameter', () => {
    const adam = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, stepSize: 0.1, correction2: 1 };
    const param = tf.ones([4]);
    expectKernelError('AdamUpdate', { param, grad: tf.ones([2]), m: tf.zeros([4]), v: tf.zeros([4]) }, adam,
      ['grad float32[2]', 'float32[4]']);
    expectKernelError('AdamUpdate', { param, grad: tf.ones([4]), m: tf.zeros([4]), v: tf.zeros([1]) }, adam,
      ['v float32[1]']);
    const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false, firstStep: false };
    expectKernelError('SgdUpdate', { param, grad: tf.ones([4]), buffer: tf.zeros([2, 2]) }, sgd,
      ['buffer float32[2,2]', 'float32[4]']);
  });

  it('cropAndResize: box indices that do not match the boxes', () => {
    expectKernelError('CropAndResize', { image: tf.ones([1, 4, 4, 1]), boxes: tf.tensor2d([[0, 0, 1, 1]]),
      boxInd: tf.tensor1d([0, 0], 'int32') }, { cropSize: [2, 2], method: 'bilinear', extrapolationValue: 0 },
    ['float32[1,4]', 'int32[2]', 'boxInd']);
  });

  it('the addon itself: slice lists of different lengths, a shape whose size overflows', () => {
    const addon = loadAddon();
    const x = tf.ones([2, 3]);
    expect(messageOf(() => addon.slice(handleOf(x), [0, 0], [1]))).toMatch(/slice: .*float32\[2,3\]/);
    expect(messageOf(() => addon.stridedSlice(handleOf(x), [0, 0], [1], [1, 1], [1, 1])))
      .toMatch(/stridedSlice: .*float32\[2,3\]/);
    expect(messageOf(() => addon.write(new Float32Array(0), [2 ** 40, 2 ** 40], 0))).toMatch(/not a valid tensor shape/);
    stillWorks();
  });
});
