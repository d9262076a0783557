// The matrix's progress: cells finished / running / failed and an ETA from the work done so far (cells' estimated
// multiply-accumulates, or image-epochs without them), and what each running cell is doing, from the progress file
// its worker writes (cellProgress.ts; read through the store, so local and queue workers look the same). On a
// terminal a block is redrawn in place (log-update) with events printed above it; otherwise plain lines: one per
// change, and a running cell's progress at most every so often, so that logs stay readable.
import { createLogUpdate } from 'log-update';

import { formatDuration } from '../formatDuration.ts';
import { type CellProgress, ProgressWatcher } from './cellProgress.ts';
import type { MatrixCell } from './plan.ts';
import type { RunStore } from './runStore.ts';
import type { MatrixSnapshot } from './scheduler.ts';

export { formatDuration };

function cost(cell: MatrixCell): number {
  return cell.macs ?? cell.imageSteps;
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

/** `epoch 3/30 step 120/391  loss 0.4123  812 img/s  ETA 41m 10s`. */
export function describeCellProgress(progress: CellProgress): string {
  const where = progress.stage === 'landscape'
    ? progress.step < progress.steps ? `grid point ${progress.step}/${progress.steps}` : 'sharpness at the trained point'
    : `${progress.stage === 'pre' ? 'pre-stage' : 'epoch'} ${progress.epoch}/${progress.epochs} step ${progress.step}/${progress.steps}`;
  return [where, ...(progress.loss === null ? [] : [`loss ${progress.loss.toFixed(4)}`]),
    ...(progress.imagesPerSecond === null ? [] : [`${Math.round(progress.imagesPerSecond)} img/s`]),
    `ETA ${progress.etaSeconds === null ? '?' : formatDuration(progress.etaSeconds)}`].join('  ');
}

/** What the display writes to: a process stream, or a test's stand-in. */
export type DisplayStream = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number; rows?: number };

export interface MatrixProgressOptions {
  /** Where the workers' progress files are read; without it only the cells' states are shown. */
  store?: RunStore;
  stream?: DisplayStream;
  /** How often the running cells' progress is read (default 1 s). */
  pollMs?: number;
  /** Off a terminal: the least time between two progress lines of one cell (default 30 s). */
  plainEveryMs?: number;
  /** Wall clock in milliseconds (Date.now). */
  now?: () => number;
}

/**
 * The terminal as log-update sees it: one that reports a size of 0 (a pseudo-terminal nobody sized, as under
 * `script` or some CI runners) would get no output at all, so it counts as 80 x 24.
 */
function sizedTerminal(stream: DisplayStream): NodeJS.WriteStream {
  return {
    isTTY: true, write: (text: string) => stream.write(text),
    get columns() { return stream.columns || 80; },
    get rows() { return stream.rows || 24; },
  } as unknown as NodeJS.WriteStream;
}

/** Prints the matrix's progress: a block redrawn in place on a terminal, else plain lines. */
export class MatrixProgress {
  private readonly start = performance.now();
  private readonly stream: DisplayStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly watcher: ProgressWatcher;
  private readonly redraw: ReturnType<typeof createLogUpdate> | undefined;
  private snapshot: MatrixSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Off a terminal: when each cell's progress was last printed, and which report it was. */
  private readonly printed = new Map<string, { at: number; updatedAt: string }>();

  constructor(private readonly options: MatrixProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.now = options.now ?? Date.now;
    this.watcher = new ProgressWatcher(this.now);
    // The cursor stays visible: a runner killed mid-matrix must not leave the terminal without one.
    this.redraw = this.tty ? createLogUpdate(sizedTerminal(this.stream), { showCursor: true }) : undefined;
  }

  /** The status line for a snapshot, now. */
  line(snapshot: MatrixSnapshot): string {
    return progressLine(snapshot, (performance.now() - this.start) / 1000);
  }

  /** Shows a scheduler snapshot (and starts reading the running cells' progress). */
  update(snapshot: MatrixSnapshot): void {
    this.snapshot = snapshot;
    const change = snapshot.changed;
    const verb = change?.state === 'running' ? 'start' : change?.state === 'pending' ? 'waiting' : change?.state;
    const event = change ? `${verb} ${change.cell.id}${change.note ? `: ${change.note}` : ''}` : '';
    if (this.redraw) {
      // A start shows in the block itself; everything else stays in the scrollback.
      if (change && change.state !== 'running') this.redraw.persist(event);
      this.draw();
    } else {
      this.stream.write(`${event ? `${event}\n` : ''}${this.line(snapshot)}\n`);
    }
    if (!this.timer && this.options.store) {
      this.timer = setInterval(() => this.tick(), this.options.pollMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Stops reading progress and leaves the last status on screen. */
  finish(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.redraw && this.snapshot) {
      this.draw();
      this.redraw.done();
    }
  }

  /** Reads the running cells' progress once more and shows it (the timer's work; tests call it directly). */
  tick(): void {
    if (!this.snapshot) return;
    if (this.redraw) {
      this.draw();
      return;
    }
    const every = this.options.plainEveryMs ?? 30_000;
    for (const cell of this.runningCells()) {
      const progress = this.liveProgress(cell.id);
      if (!progress) continue;
      const last = this.printed.get(cell.id);
      if (last && (last.updatedAt === progress.updatedAt || this.now() - last.at < every)) continue;
      this.printed.set(cell.id, { at: this.now(), updatedAt: progress.updatedAt });
      this.stream.write(`  ${cell.id}  ${describeCellProgress(progress)}\n`);
    }
  }

  private draw(): void {
    const snapshot = this.snapshot!;
    const cells = this.options.store ? this.runningCells().map((c) => `  ${c.id}  ${this.cellStatus(c.id)}`) : [];
    this.redraw!([this.line(snapshot), ...cells].join('\n'));
  }

  private runningCells(): MatrixCell[] {
    const snapshot = this.snapshot!;
    return snapshot.plan.cells.filter((c) => snapshot.states.get(c.id) === 'running');
  }

  /** The cell's progress, when its worker is alive and reporting. */
  private liveProgress(id: string): CellProgress | undefined {
    const store = this.options.store!;
    const progress = store.progress(id);
    let attempt;
    try {
      attempt = store.attempts(id).at(-1);
    } catch {
      // A line being appended right now: judged on the next read.
      return undefined;
    }
    return this.watcher.isLive(id, progress, attempt) ? progress : undefined;
  }

  /** A running cell's line on the terminal: its progress, or why there is none. */
  private cellStatus(id: string): string {
    const progress = this.liveProgress(id);
    if (progress) return describeCellProgress(progress);
    const silent = this.watcher.silentFor(id);
    return silent === undefined ? 'starting' : `no report for ${formatDuration(silent)}`;
  }
}
