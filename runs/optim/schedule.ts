// Learning-rate schedules of SPEC section 4, as pure functions of progress.

export type Schedule =
  /** CosineAnnealingLR stepped once per epoch, to 0 at the last epoch (the CIFAR recipes). */
  | { kind: 'cosine-epoch' }
  /** Linear warm-up from `warmupFrom` over `warmupIterations`, then cosine to 0 per iteration (Tiny-ImageNet). */
  | { kind: 'warmup-cosine'; warmupIterations: number; warmupFrom: number }
  | { kind: 'constant' };

/**
 * The longest warm-up, as a fraction of the run's iterations. A warm-up is counted in iterations (2500 in the
 * Tiny-ImageNet recipes, under 2% of their 100 epochs), so a run shortened by --epochs or --train-images could spend
 * all of it warming up and never reach its base rate nor anneal. Capping at half leaves every recipe's own schedule
 * as it is and still gives any run a full cosine over at least half its length.
 */
export const MAX_WARMUP_FRACTION = 0.5;

/** The warm-up iterations a run of `totalIterations` really uses (see MAX_WARMUP_FRACTION). */
export function effectiveWarmup(warmupIterations: number, totalIterations: number): number {
  return Math.min(warmupIterations, Math.floor(totalIterations * MAX_WARMUP_FRACTION));
}

/** The learning rate for an iteration, given the base rate and the run's length. */
export function learningRateAt(schedule: Schedule, base: number, epoch: number, iteration: number,
  epochs: number, iterationsPerEpoch: number): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'cosine-epoch':
      return (base * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
    case 'warmup-cosine': {
      const global = epoch * iterationsPerEpoch + iteration;
      const { warmupFrom } = schedule;
      const warmupIterations = effectiveWarmup(schedule.warmupIterations, epochs * iterationsPerEpoch);
      if (global < warmupIterations) return warmupFrom + ((base - warmupFrom) * global) / warmupIterations;
      const total = Math.max(1, epochs * iterationsPerEpoch - warmupIterations);
      return (base * (1 + Math.cos((Math.PI * (global - warmupIterations)) / total))) / 2;
    }
  }
}
