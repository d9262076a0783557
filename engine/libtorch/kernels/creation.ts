// Kernels that make tensors from attributes: Fill, Range, LinSpace, Multinomial.
import { Fill, LinSpace, Multinomial, Range } from '@tensorflow/tfjs-core';

import { DTYPE_CODES } from '../addon.ts';
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

/**
 * An int32 range with a fractional start or step, as tfjs builds it: each element is the previous one plus the
 * step, stored in an Int32Array, so the truncation accumulates (range(0, 2, 0.5) is [0, 0, 0, 0]).
 */
function truncatedRange(start: number, step: number, count: number): Int32Array {
  const values = new Int32Array(count);
  if (count > 0) values[0] = start;
  for (let i = 1; i < count; i++) values[i] = values[i - 1] + step;
  return values;
}

export const creationKernels = [
  kernel(Fill, (_inputs, { shape, value, dtype }, b) => {
    if (typeof value !== 'number') throw new Error(`fill value must be a number, got ${typeof value}`);
    return b.output(b.addon.fill(shape, value, storedCode(dtype ?? 'float32')));
  }),
  kernel(Range, (_inputs, { start, stop, step, dtype }, b) => {
    const layout = rangeLayout(start, stop, step);
    if (dtype === 'int32' && !(Number.isInteger(start) && Number.isInteger(layout.step))) {
      return b.output(b.addon.write(truncatedRange(start, layout.step, layout.count), [layout.count], DTYPE_CODES.int32));
    }
    return b.output(b.addon.range(start, layout.step, layout.count, storedCode(dtype)));
  }),
  kernel(LinSpace, (_inputs, { start, stop, num }, b) => b.output(b.addon.linspace(start, stop, num))),
  kernel(Multinomial, ({ logits }, { numSamples, seed, normalized }, b) => {
    // tfjs draws a random seed when none is given; libtorch's generator needs a non-negative integer.
    const s = Number.isFinite(seed) ? Math.abs(Math.trunc(seed)) : Math.floor(Math.random() * 2 ** 31);
    return b.output(b.addon.multinomial(b.handle(logits), numSamples, s, normalized));
  }),
];
