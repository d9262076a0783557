// The matrix's progress: cells finished / running / failed and an ETA from the work done so far (cells' estimated
// multiply-accumulates, or image-epochs without them). On a terminal one line is redrawn; otherwise a line is
// printed whenever a cell changes state.
import type { MatrixCell } from './plan.ts';
import type { MatrixSnapshot } from './scheduler.ts';

function cost(cell: MatrixCell): number {
  return cell.macs ?? cell.imageSteps;
}

/** `1h 02m`, `3m 05s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The status line of a snapshot after `elapsed` seconds: cells done, running, failed, blocked, and the ETA. */
export function progressLine(snapshot: MatrixSnapshot, elapsed: number): string {
  const counts = { finished: 0, skipped: 0, running: 0, failed: 0, blocked: 0, pending: 0 };
  let doneCost = 0;
  let leftCost = 0;
  for (const cell of snapshot.plan.cells) {
    const state = snapshot.states.get(cell.id) ?? 'pending';
    counts[state]++;
    if (state === 'finished') doneCost += cost(cell);
    if (state === 'pending' || state === 'running') leftCost += cost(cell);
  }
  const eta = doneCost > 0 ? formatDuration((leftCost * elapsed) / doneCost) : 'after the first cell';
  return `[${snapshot.plan.name}] ${counts.finished + counts.skipped}/${snapshot.plan.cells.length} done` +
    `${counts.skipped ? ` (${counts.skipped} earlier)` : ''}, ${counts.running} running, ${counts.failed} failed` +
    `${counts.blocked ? `, ${counts.blocked} blocked` : ''}, elapsed ${formatDuration(elapsed)}` +
    `${leftCost > 0 ? `, ETA ${eta}` : ''}`;
}

/** Prints the matrix's progress: one redrawn line on a terminal, else a line per change. */
export class MatrixProgress {
  private readonly start = performance.now();
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** The status line for a snapshot, now. */
  line(snapshot: MatrixSnapshot): string {
    return progressLine(snapshot, (performance.now() - this.start) / 1000);
  }

  update(snapshot: MatrixSnapshot): void {
    const change = snapshot.changed;
    const verb = change?.state === 'running' ? 'start' : change?.state === 'pending' ? 'waiting' : change?.state;
    const event = change ? `${verb} ${change.cell.id}${change.note ? `: ${change.note}` : ''}` : '';
    if (this.tty) {
      if (change && change.state !== 'running') this.stream.write(`\r\x1b[K${event}\n`);
      this.stream.write(`\r${this.line(snapshot)}\x1b[K`);
    } else {
      this.stream.write(`${event ? `${event}\n` : ''}${this.line(snapshot)}\n`);
    }
  }

  finish(): void {
    if (this.tty) this.stream.write('\n');
  }
}
