// What a landscape sweep is asked for, beside the model: the losses, the grid, the subset, the seed and the sharpness
// probes, with the defaults `sqakd landscape` and a matrix spec's `landscape` section share. Kept free of tfjs, so the
// spec schema can name the losses without loading the engine.
import type { HvpScheme } from './hessianVector.ts';

/** The losses a landscape can evaluate; `acc` is top-1 (%), evaluated but never differentiated. */
export const LANDSCAPE_LOSSES = ['ce', 'kl', 'ce+kl', 'acc'] as const;
export type LandscapeLoss = (typeof LANDSCAPE_LOSSES)[number];

export interface SweepSettings {
  losses: string[];
  /** Points per axis. */
  grid: number;
  /** The grid spans [-range, range] along each direction. */
  range: number;
  /** Test images in the evaluation subset. */
  subset: number;
  seed: number;
  /** Of the circle rise, in the directions' units. */
  radius: number;
  /** Weights of the ce+kl loss. */
  weights: { ce: number; kl: number };
  /** Images per forward pass. */
  batchSize: number;
  /** Hutchinson's Rademacher vectors for the trace. */
  traceSamples: number;
  /** Most Hessian-vector products of the power iteration. */
  powerIterations: number;
  /** How Hessian-vector products difference gradients (hessianVector.ts): forward (one gradient each) or central. */
  hvp: HvpScheme;
}

export const SWEEP_DEFAULTS: SweepSettings = {
  losses: [...LANDSCAPE_LOSSES], grid: 21, range: 1, subset: 1024, seed: 1, radius: 0.5, weights: { ce: 1, kl: 1 },
  batchSize: 256, traceSamples: 8, powerIterations: 20, hvp: 'central',
};
