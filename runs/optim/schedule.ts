// Learning-rate schedules of SPEC section 4, as pure functions of progress.

export type Schedule =
  /** CosineAnnealingLR stepped once per epoch, to 0 at the last epoch (the CIFAR recipes). */
  | { kind: 'cosine-epoch' }
  /** Linear warm-up from `warmupFrom` over `warmupIterations`, then cosine to 0 per iteration (Tiny-ImageNet). */
  | { kind: 'warmup-cosine'; warmupIterations: number; warmupFrom: number }
  | { kind: 'constant' };

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
      const { warmupIterations, warmupFrom } = schedule;
      if (global < warmupIterations) return warmupFrom + ((base - warmupFrom) * global) / warmupIterations;
      const total = Math.max(1, epochs * iterationsPerEpoch - warmupIterations);
      return (base * (1 + Math.cos((Math.PI * (global - warmupIterations)) / total))) / 2;
    }
  }
}
