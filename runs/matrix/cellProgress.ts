// A running cell's progress, as its worker reports it: progress.json in the cell's folder, rewritten atomically at
// most about once a second (and at the end of every epoch) by the worker, read by the runner's display. A file in the
// store works the same for local workers and for Redis queue workers on other machines. The file outlives its
// worker, so a reader judges it: it is live only while the worker of the cell's latest attempt keeps rewriting it.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

import { writeFileAtomic } from '../atomicWrite.ts';
import type { EpochInfo, EpochProgress, ProgressSink, ProgressStats } from '../progress.ts';
import { RunEta } from '../runEta.ts';
import type { CellAttempt } from './runStore.ts';

export const PROGRESS_FILE = 'progress.json';

/** progress.json. */
export interface CellProgress {
  /** A landscape job reports its grid points as the steps of one epoch. */
  stage: 'pre' | 'main' | 'landscape';
  /** 1-based number of the epoch running (or just ended) in its stage. */
  epoch: number;
  epochs: number;
  /** Steps done in that epoch. */
  step: number;
  steps: number;
  /** Mean training loss of the epoch so far; null before its first step. */
  loss: number | null;
  imagesPerSecond: number | null;
  /** Seconds the whole cell has left (later epochs and stages included); null before anything was timed. */
  etaSeconds: number | null;
  /** ISO time of the write, on the worker's clock. */
  updatedAt: string;
  pid: number;
  host: string;
}

/** How long a progress file may go unchanged and still count as live (an epoch's evaluation writes nothing). */
export const PROGRESS_STALE_MS = 120_000;
const WRITE_EVERY_MS = 1000;

export interface ProgressFileOptions {
  pid?: number;
  host?: string;
  /** Wall clock in milliseconds (Date.now). */
  now?: () => number;
  /** Least time between two writes within an epoch. */
  writeEveryMs?: number;
}

/** The worker's sink: writes `path` at most every `writeEveryMs` within an epoch, and at each epoch's end. */
export class ProgressFileSink implements ProgressSink {
  private readonly now: () => number;
  private readonly eta: RunEta;
  private lastWrite = -Infinity;
  private failed = false;

  constructor(private readonly path: string, private readonly options: ProgressFileOptions = {}) {
    this.now = options.now ?? Date.now;
    this.eta = new RunEta(this.now);
  }

  epoch(info: EpochInfo): EpochProgress {
    this.eta.startEpoch(info);
    let stats: ProgressStats | undefined;
    return {
      update: (step, latest) => {
        this.eta.stepDone(step);
        stats = latest;
        if (this.now() - this.lastWrite >= (this.options.writeEveryMs ?? WRITE_EVERY_MS)) this.write(info, step, stats);
      },
      finish: () => {
        this.eta.finishEpoch();
        this.write(info, info.steps, stats);
      },
    };
  }

  private write(info: EpochInfo, step: number, stats: ProgressStats | undefined): void {
    const now = this.now();
    this.lastWrite = now;
    const state: CellProgress = {
      stage: info.stage, epoch: info.epoch + 1, epochs: info.epochs, step, steps: info.steps,
      loss: stats && Number.isFinite(stats.loss) ? stats.loss : null,
      imagesPerSecond: stats && Number.isFinite(stats.imagesPerSecond) ? stats.imagesPerSecond : null, etaSeconds: this.eta.runLeft() ?? null,
      updatedAt: new Date(now).toISOString(), pid: this.options.pid ?? process.pid, host: this.options.host ?? hostname(),
    };
    try {
      writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
    } catch (e) {
      // A progress file is a display's convenience: training goes on without it.
      if (!this.failed) console.error(`cannot write ${this.path} (${(e as Error).message}); progress goes unreported`);
      this.failed = true;
    }
  }
}

/** The progress file at `path`; undefined when it is missing or not one. */
export function readCellProgress(path: string): CellProgress | undefined {
  let parsed: Partial<CellProgress> | null;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CellProgress> | null;
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const numbers = [parsed.epoch, parsed.epochs, parsed.step, parsed.steps, parsed.pid];
  if (numbers.some((n) => typeof n !== 'number') || typeof parsed.updatedAt !== 'string' ||
    typeof parsed.host !== 'string' || !['pre', 'main', 'landscape'].includes(parsed.stage as string)) return undefined;
  return parsed as CellProgress;
}

/**
 * Tells live progress from a dead worker's. A file counts as live while it belongs to the cell's latest attempt and
 * has changed within PROGRESS_STALE_MS. The change is timed on the reader's clock from the moment the reader sees it,
 * so the worker's clock (another machine's, with the queue) only matters for a file seen for the first time.
 */
export class ProgressWatcher {
  private readonly seen = new Map<string, { updatedAt: string; at: number }>();

  constructor(private readonly now: () => number = Date.now, private readonly staleMs = PROGRESS_STALE_MS) {}

  /** Whether `progress`, the file of cell `id` whose latest attempt is `attempt`, is live now. */
  isLive(id: string, progress: CellProgress | undefined, attempt: CellAttempt | undefined): boolean {
    if (!progress) return false;
    if (attempt && (attempt.pid !== progress.pid || attempt.host !== progress.host)) return false;
    const now = this.now();
    const earlier = this.seen.get(id);
    if (earlier?.updatedAt !== progress.updatedAt) {
      const written = Date.parse(progress.updatedAt);
      this.seen.set(id, { updatedAt: progress.updatedAt, at: earlier || !Number.isFinite(written) ? now : Math.min(now, written) });
    }
    return now - this.seen.get(id)!.at < this.staleMs;
  }

  /** Seconds since the file of cell `id` last changed, as far as this watcher knows. */
  silentFor(id: string): number | undefined {
    const seen = this.seen.get(id);
    return seen ? (this.now() - seen.at) / 1000 : undefined;
  }
}
