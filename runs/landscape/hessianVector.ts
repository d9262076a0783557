// Hessian-vector products of a loss over the swept coordinates, by central differences of gradients:
// Hv ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps). The models' fused kernels have no second derivatives, and a
// central difference's error is O(eps^2) (zero on a quadratic), against O(eps) for a one-sided one.
import { checkLength, type ParameterSpace, sweptMask } from './parameterSpace.ts';

/**
 * The probe's distance from theta as a fraction of |theta_swept|: eps |v| = HVP_RELATIVE_STEP |theta_swept|.
 * Float32 gradients carry ~1e-7 relative round-off (more after summing a subset's batches), and float32 theta + eps v
 * loses ~6e-8 |theta_i| of each coordinate's step, so the step must be large enough that the gradient's change
 * dominates both: at 1e-3 each coordinate moves ~1e-3 of its typical size and round-off costs ~1e-4 of Hv. The
 * truncation error grows as eps^2 (the loss's third and fourth derivatives over the second), ~1e-6 relative at 1e-3.
 */
export const HVP_RELATIVE_STEP = 1e-3;

/** Options of a Hessian-vector product. */
export interface HessianVectorOptions {
  /** Overrides HVP_RELATIVE_STEP. */
  relativeStep?: number;
}

/** Hv on the swept coordinates (zero elsewhere), and the step eps of the probes theta +- eps v. */
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

  const gradientAt = (sign: number): Float32Array => {
    const probe = new Float32Array(theta);
    for (let i = 0; i < space.size; i++) if (mask[i]) probe[i] = theta[i] + sign * step * v[i];
    space.set(probe);
    const { grad } = space.gradient(loss);
    checkLength(`the gradient of '${loss}'`, grad, space.size);
    // A copy: a space may hand out the same buffer on every call.
    return grad.slice();
  };
  try {
    const plus = gradientAt(1);
    const minus = gradientAt(-1);
    for (let i = 0; i < space.size; i++) if (mask[i]) product[i] = (plus[i] - minus[i]) / (2 * step);
  } finally {
    space.set(theta);
  }
  return { product, step };
}
