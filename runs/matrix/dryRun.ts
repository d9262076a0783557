// What `sqakd matrix --dry-run` prints: each cell with its state in the run store, its schedule, its estimated cost
// and what it waits for, then the totals and, once some cells have run, a time estimate at their measured speed.
import type { MatrixCell, MatrixPlan } from './plan.ts';
import { formatDuration } from './progressDisplay.ts';
import type { CellStatus } from './runStore.ts';

/** Giga multiply-accumulates, `?` when unknown. */
export function gmac(macs: number | null): string {
  return macs === null ? '?' : (macs / 1e9).toFixed(macs >= 1e11 ? 0 : 1);
}

/** The dry run's lines, from each cell's status and, for finished cells, the wall seconds they took. */
export function dryRunLines(plan: MatrixPlan, statusOf: (cell: MatrixCell) => CellStatus,
  wallSecondsOf: (id: string) => number | undefined): string[] {
  const lines: string[] = [];
  let known = 0;
  let knownSeconds = 0;
  let total = 0;
  let left = 0;
  for (const cell of plan.cells) {
    const status = statusOf(cell);
    const deps = cell.dependsOn.length ? ` after ${cell.dependsOn.join(', ')}` : '';
    const pre = cell.config.settings.preEpochs;
    lines.push(`${status.padEnd(11)} ${cell.id}  ${cell.config.phase.epochs} epochs${pre ? ` + ${pre} pre-stage` : ''}, ` +
      `${gmac(cell.macs)} GMAC${deps}`);
    total += cell.macs ?? 0;
    if (status !== 'finished') left += cell.macs ?? 0;
    const seconds = status === 'finished' ? wallSecondsOf(cell.id) : undefined;
    if (seconds !== undefined && cell.macs !== null) {
      known += cell.macs;
      knownSeconds += seconds;
    }
  }
  const estimate = known > 0 ? `, about ${formatDuration((left * knownSeconds) / known)} at the speed of the cells already run`
    : ' (no cell has run yet to time it)';
  lines.push(`${plan.cells.length} cells (${plan.cells.filter((c) => c.kind === 'teacher').length} teachers) in ${plan.root}; ` +
    `${gmac(total)} GMAC in all, ${gmac(left)} left${estimate}`);
  return lines;
}
