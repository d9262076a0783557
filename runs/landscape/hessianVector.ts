// Hessian-vector products of a loss over the swept coordinates, by finite differences of gradients (the models'
// fused kernels have no second derivatives). Central: Hv ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps), error
// O(eps^2), two gradients per product. Forward: Hv ~ (g(theta + eps v) - g(theta)) / eps, error O(eps), one gradient
// per product once g(theta) is known, which the power iteration and Hutchinson's estimator reuse for every product:
// half the cost of a sharpness measurement. Both are exact on a quadratic.
import { checkLength, type ParameterSpace, sweptMask } from './parameterSpace.ts';

/**
 * The probe's distance from theta as a fraction of |theta_swept|: eps |v| = HVP_RELATIVE_STEP |theta_swept|.
 * Float32 gradients carry ~1e-7 relative round-off (more after summing a subset's batches), and float32 theta + eps v
 * loses ~6e-8 |theta_i| of each coordinate's step, so the step must be large enough that the gradient's change
 * dominates both: at 1e-3 each coordinate moves ~1e-3 of its typical size and round-off costs ~1e-4 of Hv. The
 * truncation error grows as eps^2 (the loss's third and fourth derivatives over the second), ~1e-6 relative at 1e-3.
 */
export const HVP_RELATIVE_STEP = 1e-3;

/** How a product is differenced. */
export const HVP_SCHEMES = ['forward', 'central'] as const;
export type HvpScheme = (typeof HVP_SCHEMES)[number];

/** Options of a Hessian-vector product. */
export interface HessianVectorOptions {
  /** Overrides HVP_RELATIVE_STEP. */
  relativeStep?: number;
  /** Default central. */
  scheme?: HvpScheme;
  /** The gradient at theta, for the forward scheme (computed when absent). */
  centreGradient?: Float32Array;
}

/** The gradient of `loss` at theta (a copy: a space may hand out the same buffer on every call). */
export function gradientAt(space: ParameterSpace, loss: string, point: Float32Array): Float32Array {
  space.set(point);
  const { grad } = space.gradient(loss);
  checkLength(`the gradient of '${loss}'`, grad, space.size);
  return grad.slice();
}

/** Hv on the swept coordinates (zero elsewhere), and the step eps of the probes theta +- eps v (forward: theta + eps v). */
export interface HessianVectorProduct {
  product: Float32Array;
  step: number;
}

/**
 * H v of `loss` at theta, where H is the Hessian's swept block: v's entries on coordinates that are not swept are
 * ignored (the probes do not move them). With theta_swept = 0 the step is relative to a norm of 1. Leaves the space
 * at theta, also when a gradient throws.
 */
export function hessianVectorProduct(space: ParameterSpace, loss: string, theta: Float32Array, v: Float32Array,
  options: HessianVectorOptions = {}): HessianVectorProduct {
  checkLength('theta', theta, space.size);
  checkLength('v', v, space.size);
  const relativeStep = options.relativeStep ?? HVP_RELATIVE_STEP;
  if (!(relativeStep > 0) || !Number.isFinite(relativeStep)) {
    throw new Error(`relativeStep ${relativeStep} is not a positive number`);
  }
  const mask = sweptMask(space);
  let thetaSquares = 0;
  let vSquares = 0;
  for (let i = 0; i < space.size; i++) {
    if (!mask[i]) continue;
    thetaSquares += theta[i] * theta[i];
    vSquares += v[i] * v[i];
  }
  const product = new Float32Array(space.size);
  if (vSquares === 0) return { product, step: 0 };
  const scale = thetaSquares > 0 ? Math.sqrt(thetaSquares) : 1;
  const step = (relativeStep * scale) / Math.sqrt(vSquares);

  const probeAt = (sign: number): Float32Array => {
    const probe = new Float32Array(theta);
    for (let i = 0; i < space.size; i++) if (mask[i]) probe[i] = theta[i] + sign * step * v[i];
    return gradientAt(space, loss, probe);
  };
  try {
    if (options.scheme === 'forward') {
      const centre = options.centreGradient ?? gradientAt(space, loss, theta);
      checkLength('centreGradient', centre, space.size);
      const plus = probeAt(1);
      for (let i = 0; i < space.size; i++) if (mask[i]) product[i] = (plus[i] - centre[i]) / step;
    } else {
      const plus = probeAt(1);
      const minus = probeAt(-1);
      for (let i = 0; i < space.size; i++) if (mask[i]) product[i] = (plus[i] - minus[i]) / (2 * step);
    }
  } finally {
    space.set(theta);
  }
  return { product, step };
}
