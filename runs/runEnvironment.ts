// The numeric environment a run's numbers came from (backend, device, threads, BLAS, library version), recorded in
// its config.json, checkpoint and result.json. The same configuration in the same environment reproduces bit for
// bit; in another, float sums are taken in another order and the run drifts, so a resume across environments is
// refused unless asked for, and then recorded.
import type { NumericEnvironment } from '../engine/index.ts';

/** A resume that continued under another environment (--allow-env-change). */
export interface EnvironmentChange {
  /** Epochs (pre-stage included) finished before the change. */
  afterEpochs: number;
  from: NumericEnvironment;
  to: NumericEnvironment;
}

/** The fields in which two environments differ, as "threads 2 -> 1, blas a -> b"; empty when they agree. */
export function environmentDifference(from: NumericEnvironment, to: NumericEnvironment): string {
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])] as (keyof NumericEnvironment)[];
  return keys.filter((k) => from[k] !== to[k]).map((k) => `${k} ${from[k] ?? 'unrecorded'} -> ${to[k] ?? 'unrecorded'}`).join(', ');
}
