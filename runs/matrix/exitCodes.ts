// How a cell's worker process (`sqakd run-cell`) says why it stopped without a result, so the process that started it
// can tell a failure from a cell that is simply someone else's to run.

/** The process that started the worker is gone; the checkpoint is kept for the next run. */
export const RUNNER_GONE_EXIT = 3;

/** Another live worker holds the cell (or took it over): not a failure, the cell is in other hands. */
export const CELL_BUSY_EXIT = 75;
