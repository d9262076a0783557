// Bad input never crashes the process: kernels raise JS Errors naming the kernel and the input shapes.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../engine/libtorch/addon.ts';
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
    const message = messageOf(() => tf.engine().runKernel('NoSuchKernel', { x: tf.ones([1]) }));
    expect(message).toContain('NoSuchKernel');
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
