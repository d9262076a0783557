// What the scheduler asks of an executor: run a cell somewhere and say how it ended. The local process pool and
// the Redis queue are the two executors.
import type { MatrixCell } from './plan.ts';

/** How a cell's run ended; `busy`: another live worker holds the cell, so it is not a failure but a cell to look at later. */
export type CellOutcome = { ok: true } | { ok: false; error: string; busy?: boolean };

/** Runs matrix cells; the scheduler decides which and when. */
export interface CellExecutor {
  /** How many cells it can run at once. */
  readonly capacity: number;
  /** A one-line description for the progress display. */
  readonly description: string;
  run(cell: MatrixCell): Promise<CellOutcome>;
  /** Called once before the first cell, with every cell of the plan (e.g. to drop queued work the plan no longer has). */
  begin?(cells: readonly MatrixCell[]): Promise<void>;
  close(): Promise<void>;
}
