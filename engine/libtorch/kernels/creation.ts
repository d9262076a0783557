// Kernels that make tensors from attributes: Fill, Range, LinSpace, Multinomial.
import { Fill, LinSpace, Multinomial, Range } from '@tensorflow/tfjs-core';

import { storedCode } from './elementwise.ts';
import { kernel } from './kernel.ts';

/** Number of elements and effective step of tf.range, with tfjs's rules for empty and reversed ranges. */
export function rangeLayout(start: number, stop: number, step: number): { count: number; step: number } {
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
  if (empty) return { count: 0, step };
  const count = Math.abs(Math.ceil((stop - start) / step));
  // tfjs counts down when stop < start and step is 1 (its default).
  return { count, step: stop < start && step === 1 ? -1 : step };
}

export const creationKernels = [
  kernel(Fill, (_inputs, { shape, value, dtype }, b) => {
    if (typeof value !== 'number') throw new Error(`fill value must be a number, got ${typeof value}`);
    return b.output(b.addon.fill(shape, value, storedCode(dtype ?? 'float32')));
  }),
  kernel(Range, (_inputs, { start, stop, step, dtype }, b) => {
    const layout = rangeLayout(start, stop, step);
    return b.output(b.addon.range(start, layout.step, layout.count, storedCode(dtype)));
  }),
  kernel(LinSpace, (_inputs, { start, stop, num }, b) => b.output(b.addon.linspace(start, stop, num))),
  kernel(Multinomial, ({ logits }, { numSamples, seed, normalized }, b) => {
    // tfjs draws a random seed when none is given; libtorch's generator needs a non-negative integer.
    const s = Number.isFinite(seed) ? Math.abs(Math.trunc(seed)) : Math.floor(Math.random() * 2 ** 31);
    return b.output(b.addon.multinomial(b.handle(logits), numSamples, s, normalized));
  }),
];
