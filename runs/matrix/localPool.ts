// The default executor: cells run in worker processes on this machine, as many at once as the user allows. Each
// worker gets its share of the CPU cores as threads, or one GPU of its own.
import { availableParallelism } from 'node:os';

import type { CellExecutor, CellOutcome } from './cellExecutor.ts';
import { type CellProcessOptions, runCellProcess } from './cellProcess.ts';
import type { MatrixCell } from './plan.ts';
import type { RunStore } from './runStore.ts';

export interface LocalPoolOptions {
  store: RunStore;
  dataDir: string;
  backend?: string;
  /** Worker processes (default: one per GPU, else one per 4 cores, at least one). */
  workers?: number;
  /** GPUs on this machine (0 for none). */
  gpus: number;
  /** Threads per CPU worker (default: an equal share of the cores). */
  threads?: number;
  /** Cells may resume under another numeric environment (--allow-env-change). */
  allowEnvChange?: boolean;
}

/** The default number of workers: one per GPU, else a CPU share of about four cores each. */
export function defaultWorkers(gpus: number, cores = availableParallelism()): number {
  return gpus > 0 ? gpus : Math.max(1, Math.floor(cores / 4));
}

/** Worker processes on this machine, each in a slot with its own threads or GPU. */
export class LocalPool implements CellExecutor {
  readonly capacity: number;
  readonly description: string;
  private readonly free: number[];

  constructor(private readonly options: LocalPoolOptions) {
    this.capacity = options.workers ?? defaultWorkers(options.gpus);
    this.free = Array.from({ length: this.capacity }, (_, i) => i);
    const threads = this.threadsPerWorker();
    this.description = `${this.capacity} local worker(s)${options.gpus > 0 ? ` on ${options.gpus} GPU(s)`
      : `, ${threads} thread(s) each`}`;
  }

  private threadsPerWorker(): number {
    return this.options.threads ?? Math.max(1, Math.floor(availableParallelism() / this.capacity));
  }

  async run(cell: MatrixCell): Promise<CellOutcome> {
    // A cell some other live process trains (an orphaned worker still finishing its step, another runner on this
    // store, a queue worker) is left to it rather than started in a process that could only wait.
    const holder = this.options.store.liveLock(cell.id)?.owner;
    if (holder) return { ok: false, busy: true, error: `being trained by process ${holder.pid} on ${holder.host}` };
    const slot = this.free.shift();
    if (slot === undefined) throw new Error('local pool: no free worker (the scheduler started too many cells)');
    const process: CellProcessOptions = {
      dataDir: this.options.dataDir, backend: this.options.backend, allowEnvChange: this.options.allowEnvChange,
      ...(this.options.gpus > 0 ? { gpu: slot % this.options.gpus } : { threads: this.threadsPerWorker() }),
    };
    try {
      return await runCellProcess(this.options.store.cellDir(cell.id), this.options.store.workerLogPath(cell.id), process);
    } finally {
      this.free.push(slot);
    }
  }

  async close(): Promise<void> {}
}
