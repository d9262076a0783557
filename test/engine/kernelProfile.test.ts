// The per-kernel profiler behind `bench step --profile`: calls, bytes and phases counted from known work, nested
// kernels counted once, and the backend's kernels restored afterwards.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend, profileKernels } from '../../engine/index.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const row = (profile: ReturnType<typeof profileKernels>, kernel: string) => profile.rows.find((r) => r.kernel === kernel);

describe('profileKernels', () => {
  it('counts each kernel\'s calls and output bytes in the phase whose scope it ran in', () => {
    const x = tf.ones([8, 4, 4, 3]);
    const profile = profileKernels(() => {
      tf.tidy('alpha', () => { tf.relu(x); });
      tf.tidy('beta', () => { tf.add(x, x); tf.tidy(() => tf.add(x, 1)); });
      tf.tidy(() => { tf.relu(x); });
    }, ['alpha', 'beta']);
    x.dispose();
    expect(row(profile, 'Relu')).toMatchObject({ calls: 2, bytes: 2 * 8 * 4 * 4 * 3 * 4 });
    expect(Object.keys(row(profile, 'Relu')!.msByPhase).sort()).toEqual(['alpha', 'other']);
    // An unnamed scope inside 'beta' is still 'beta'; the scalar 1 is uploaded, not computed, so it is no kernel.
    expect(row(profile, 'Add')).toMatchObject({ calls: 2, bytes: 2 * 8 * 4 * 4 * 3 * 4 });
    expect(Object.keys(row(profile, 'Add')!.msByPhase)).toEqual(['beta']);
    const summed = profile.rows.reduce((sum, r) => sum + r.ms, 0);
    expect(profile.kernelMs).toBeCloseTo(summed, 6);
    expect(profile.kernelMs).toBeLessThanOrEqual(profile.wallMs);
    expect(profile.outsideShare).toBeGreaterThanOrEqual(0);
    expect(profile.outsideShare).toBeLessThan(1);
  });

  it('names the tape\'s forward and backward phases and times a custom gradient\'s kernels, not the op itself', () => {
    const w = tf.variable(tf.fill([16], 0.5));
    const twice = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const a = args[0] as tf.Tensor;
      return { value: tf.mul(a, 2), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.mul(dy as tf.Tensor, 2) };
    });
    const profile = profileKernels(() => {
      const { value, grads } = tf.variableGrads(() => twice(w).sum() as tf.Scalar, [w]);
      tf.dispose([value, ...Object.values(grads)]);
    }, ['forward', 'backward']);
    w.dispose();
    const multiply = row(profile, 'Multiply')!;
    expect(Object.keys(multiply.msByPhase).sort()).toEqual(['backward', 'forward']);
    expect(multiply.calls).toBeGreaterThanOrEqual(2);
    expect(profile.rows.map((r) => r.kernel)).not.toContain('CustomGrad');
    expect(profile.rows.every((r) => tf.getKernel(r.kernel, 'libtorch') !== undefined)).toBe(true);
  });

  it('puts the original kernels back, also when the profiled work throws', () => {
    const before = tf.getKernel('Relu', 'libtorch')!.kernelFunc;
    expect(() => profileKernels(() => { tf.relu(tf.ones([2])); throw new Error('boom'); }, [])).toThrow('boom');
    expect(tf.getKernel('Relu', 'libtorch')!.kernelFunc).toBe(before);
    profileKernels(() => { tf.tidy(() => tf.relu(tf.ones([2]))); }, []);
    expect(tf.getKernel('Relu', 'libtorch')!.kernelFunc).toBe(before);
  });
});
