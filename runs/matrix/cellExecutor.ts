// What the scheduler asks of an executor: run a cell somewhere and say how it ended. The local process pool and
// the Redis queue are the two executors.
import type { MatrixCell } from './plan.ts';

export type CellOutcome = { ok: true } | { ok: false; error: string };

/** Runs matrix cells; the scheduler decides which and when. */
export interface CellExecutor {
  /** How many cells it can run at once. */
  readonly capacity: number;
  /** A one-line description for the progress display. */
  readonly description: string;
  run(cell: MatrixCell): Promise<CellOutcome>;
  close(): Promise<void>;
}
