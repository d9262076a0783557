// Fake quantization Q(x) = D(C(x)) of SPEC section 2, the forward/backward every quantizer is built from:
//   C: n = clamp((x - lower) / (upper - lower), 0, 1)        (learnable bounds; gradients reach them)
//   D: q = round(n * (levels - 1)) / (levels - 1)            (round half to even)
//   output q, or 2 * (q - 0.5) in [-1, 1] when `signed` (weights)
// Backward of D is EWGS: dL/dn = g + delta * |g| * (n - q) with g = dL/dq; delta = 0 is the straight-through
// estimator. A fused kernel where the backend has one (libtorch), otherwise the composite twin; both give the same
// values and gradients. lower/upper are scalars (per-tensor) or broadcast against x (e.g. [C] per channel).
import { engine, type GradSaveFunc, registerGradient, type Tensor } from '@tensorflow/tfjs-core';

import { customGradient } from './customGradient.ts';

import { backendHasKernel, type FusedOpOptions } from './fusedKernel.ts';

export const FakeQuantize = 'FakeQuantize';
export const FakeQuantizeGrad = 'FakeQuantizeGrad';

export interface FakeQuantizeParams {
  /** Number of quantization levels, 2^bits. */
  levels: number;
  /** EWGS scaling; 0 (the default) is the straight-through estimator. */
  delta?: number;
  /** Map to [-1, 1] (weights) instead of [0, 1] (activations). */
  signed?: boolean;
}

/** Quantizes x onto `levels` levels between lower and upper, with the EWGS/STE backward. */
export function fakeQuantize(
  x: Tensor, lower: Tensor, upper: Tensor, params: FakeQuantizeParams, options: FusedOpOptions = {},
): Tensor {
  const attrs = checkedAttrs(params);
  if (!options.composite && backendHasKernel(FakeQuantize)) {
    return engine().runKernel(FakeQuantize, { x, lower, upper }, { ...attrs }) as Tensor;
  }
  return fakeQuantizeComposite(x, lower, upper, attrs);
}

function checkedAttrs(params: FakeQuantizeParams): Required<FakeQuantizeParams> {
  const { levels, delta = 0, signed = false } = params;
  if (!Number.isInteger(levels) || levels < 2) throw new Error(`fakeQuantize: levels must be an integer >= 2, got ${levels}`);
  if (!(delta >= 0)) throw new Error(`fakeQuantize: delta must be >= 0, got ${delta}`);
  return { levels, delta, signed };
}

/** The composite twin, from plain tfjs ops and a custom gradient for the rounding (runs on any backend). */
export function fakeQuantizeComposite(x: Tensor, lower: Tensor, upper: Tensor, params: Required<FakeQuantizeParams>): Tensor {
  const n = x.sub(lower).div(upper.sub(lower)).clipByValue(0, 1);
  const q = roundToLevels(n, params.levels, params.delta);
  return params.signed ? q.sub(0.5).mul(2) : q;
}

function roundToLevels(n: Tensor, levels: number, delta: number): Tensor {
  const steps = levels - 1;
  const round = customGradient<[Tensor]>((input: Tensor, save: GradSaveFunc) => {
    const q = input.mul(steps).round().div(steps);
    save([input, q]);
    return {
      value: q,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        if (delta === 0) return dy;
        const [nIn, qOut] = saved;
        return dy.add(dy.abs().mul(delta).mul(nIn.sub(qOut)));
      },
    };
  });
  return round(n);
}

registerGradient({
  kernelName: FakeQuantize,
  inputsToSave: ['x', 'lower', 'upper'],
  gradFunc: (dy, saved, attrs) => {
    const [x, lower, upper] = saved;
    const [dx, dLower, dUpper] = engine().runKernel(FakeQuantizeGrad,
      { dy: dy as Tensor, x, lower, upper }, { ...(attrs as object) }) as Tensor[];
    return { x: () => dx, lower: () => dLower, upper: () => dUpper };
  },
});
