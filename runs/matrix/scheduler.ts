// Runs a planned matrix: finished cells are skipped, interrupted ones resume from their checkpoints, failed ones
// are retried only when asked; a cell starts once the cells it depends on (its teacher) have finished, and as many
// run at once as the executor allows. A cell that fails is recorded with its log; cells that depend on it are
// blocked; everything else goes on. A cell another live worker holds is no failure: it waits, and is looked at again
// later (by then it is usually finished, and its run only reads the result back).
import type { CellExecutor } from './cellExecutor.ts';
import type { MatrixCell, MatrixPlan } from './plan.ts';
import type { RunStore } from './runStore.ts';

export type CellState = 'pending' | 'running' | 'finished' | 'skipped' | 'failed' | 'blocked';

export interface MatrixSnapshot {
  plan: MatrixPlan;
  states: ReadonlyMap<string, CellState>;
  /** A cell whose state just changed, with a note (its error, for a failure). */
  changed?: { cell: MatrixCell; state: CellState; note?: string };
}

export interface MatrixRunOptions {
  /** Run again the cells a previous run recorded as failed. */
  retryFailed?: boolean;
  onUpdate?: (snapshot: MatrixSnapshot) => void;
  /** How long a cell held by another live worker waits before it is tried again (default 15 s). */
  busyRetryMs?: number;
}

const BUSY_RETRY_MS = 15_000;

export interface MatrixSummary {
  finished: string[];
  skipped: string[];
  failed: { id: string; error: string; log: string }[];
  blocked: string[];
  wallSeconds: number;
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Runs every cell of `plan` that is not finished yet; resolves when nothing more can run. */
export async function runMatrix(plan: MatrixPlan, store: RunStore, executor: CellExecutor,
  options: MatrixRunOptions = {}): Promise<MatrixSummary> {
  const start = performance.now();
  const states = new Map<string, CellState>();
  const byId = new Map(plan.cells.map((c) => [c.id, c]));
  const summary: MatrixSummary = { finished: [], skipped: [], failed: [], blocked: [], wallSeconds: 0 };
  const set = (cell: MatrixCell, state: CellState, note?: string) => {
    states.set(cell.id, state);
    options.onUpdate?.({ plan, states, changed: { cell, state, note } });
  };

  for (const cell of plan.cells) {
    const status = store.status(cell);
    if (status === 'finished') {
      states.set(cell.id, 'skipped');
      summary.skipped.push(cell.id);
    } else if (status === 'failed' && !options.retryFailed) {
      const failure = store.failure(cell.id);
      states.set(cell.id, 'failed');
      summary.failed.push({ id: cell.id, error: `${failure?.error ?? 'failed'} (earlier run; --retry-failed runs it again)`, log: failure?.log ?? '' });
    } else {
      states.set(cell.id, 'pending');
    }
  }
  options.onUpdate?.({ plan, states });
  await executor.begin?.(plan.cells);

  const running = new Map<string, Promise<void>>();
  /** Cells held by another worker, by the time they may be tried again. */
  const notBefore = new Map<string, number>();
  const launch = (cell: MatrixCell) => {
    store.clearFailure(cell.id);
    store.prepare(cell);
    set(cell, 'running');
    const done = executor.run(cell).then((outcome) => {
      // A worker can end cleanly without a result (e.g. it stopped because its runner went away): not finished.
      if (outcome.ok && store.status(cell) === 'finished') {
        summary.finished.push(cell.id);
        set(cell, 'finished');
      } else if (!outcome.ok && outcome.busy) {
        notBefore.set(cell.id, Date.now() + (options.busyRetryMs ?? BUSY_RETRY_MS));
        set(cell, 'pending', `${outcome.error}; waiting for it`);
      } else {
        const error = outcome.ok ? 'the worker ended without writing result.json' : outcome.error;
        const failure = store.recordFailure(cell.id, error);
        summary.failed.push({ id: cell.id, error, log: failure.log });
        set(cell, 'failed', error);
      }
    }, (e: unknown) => {
      const failure = store.recordFailure(cell.id, (e as Error).message);
      summary.failed.push({ id: cell.id, error: failure.error, log: failure.log });
      set(cell, 'failed', failure.error);
    }).finally(() => running.delete(cell.id));
    running.set(cell.id, done);
  };

  for (;;) {
    for (const cell of plan.cells) {
      if (states.get(cell.id) !== 'pending') continue;
      if ((notBefore.get(cell.id) ?? 0) > Date.now()) continue;
      const deps = cell.dependsOn.map((id) => states.get(id) ?? (byId.has(id) ? 'pending' : 'failed'));
      if (deps.some((s) => s === 'failed' || s === 'blocked')) {
        summary.blocked.push(cell.id);
        set(cell, 'blocked', `waits on ${cell.dependsOn.join(', ')}, which failed`);
      } else if (deps.every((s) => s === 'finished' || s === 'skipped') && running.size < executor.capacity) {
        launch(cell);
      }
    }
    const now = Date.now();
    const waiting = [...notBefore.entries()].filter(([id, t]) => states.get(id) === 'pending' && t > now).map(([, t]) => t);
    if (!running.size && !waiting.length) break;
    const wake = waiting.length ? sleep(Math.min(...waiting) - now) : null;
    await Promise.race([...running.values(), ...(wake ? [wake.promise] : [])]);
    wake?.cancel();
  }
  summary.wallSeconds = (performance.now() - start) / 1000;
  return summary;
}
