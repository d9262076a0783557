// Every kernel the libtorch backend registers, run on libtorch and on tfjs's pure-JS cpu backend (the oracle) from
// identical inputs: values, shapes and dtypes must agree. The cases are in support/kernelCases.ts.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { LibtorchBackend } from '../../engine/libtorch/backend.ts';
import { fusedKernels } from '../../engine/libtorch/kernels/fused.ts';
import { libtorchKernelNames } from '../../engine/libtorch/register.ts';
import { asList, DataSource, DEFAULT_TOLERANCE, difference, type Output, read } from './support/data.ts';
import { KERNEL_CASES, type KernelCase } from './support/kernelCases.ts';

// The fused kernels have no cpu counterpart; test/engine/fusedOps.test.ts compares every one with its composite twin.
const CHECKED_IN_FUSED_OPS_SUITE = fusedKernels.map((k) => k.kernelName);

interface Run {
  outputs: Output[];
  /** Kernels the run invoked (recorded on libtorch only). */
  kernels: Set<string>;
}

async function runOn(backend: 'cpu' | 'libtorch', run: (d: DataSource) => tf.Tensor | tf.Tensor[], seed: string): Promise<Run> {
  await tf.setBackend(backend);
  if (backend === 'cpu') {
    const result = asList(tf.tidy(() => run(new DataSource(seed))));
    const outputs = result.map(read);
    tf.dispose(result);
    return { outputs, kernels: new Set() };
  }
  const profile = await tf.profile(() => tf.tidy(() => run(new DataSource(seed))));
  const result = asList(profile.result as tf.Tensor | tf.Tensor[]);
  const outputs = result.map(read);
  tf.dispose(result);
  return { outputs, kernels: new Set(profile.kernelNames) };
}

/** Tensors the addon holds. */
function liveHandles(): number {
  return (tf.findBackend('libtorch') as LibtorchBackend).memory().liveHandles;
}

function caseTitle(c: KernelCase): string {
  return `${c.kernel}: ${c.name}`;
}

beforeAll(async () => {
  await initBackend('libtorch');
});

describe('the case table', () => {
  it('covers every kernel libtorch registers', () => {
    const covered = new Set(KERNEL_CASES.map((c) => c.kernel));
    const missing = libtorchKernelNames().filter((k) => !covered.has(k) && !CHECKED_IN_FUSED_OPS_SUITE.includes(k));
    expect(missing).toEqual([]);
  });

  it('names only registered kernels, each case once', () => {
    const registered = new Set(libtorchKernelNames());
    expect(KERNEL_CASES.map((c) => c.kernel).filter((k) => !registered.has(k))).toEqual([]);
    const titles = KERNEL_CASES.map(caseTitle);
    expect(titles.filter((t, i) => titles.indexOf(t) !== i)).toEqual([]);
  });
});

describe('libtorch kernels agree with the cpu backend', () => {
  for (const c of KERNEL_CASES) {
    it(caseTitle(c), async () => {
      const seed = caseTitle(c);
      const before = liveHandles();
      const actual = await runOn('libtorch', c.run, seed);
      expect([...actual.kernels], `the case never ran ${c.kernel} on libtorch`).toContain(c.kernel);
      // Every addon tensor the case created was released when tfjs disposed of it.
      expect(liveHandles()).toBe(before);
      if (c.check) {
        c.check(actual.outputs);
        return;
      }
      const expected = await runOn('cpu', c.reference ?? c.run, seed);
      const diff = difference(actual.outputs, expected.outputs, { ...DEFAULT_TOLERANCE, ...c.tol });
      expect(diff, diff ?? '').toBeNull();
    });
  }
});
