// Runs one cell inside a worker process (`sqakd run-cell <folder>`): reads the cell's definition, takes the
// cell's lock (a second worker on the same cell waits for the first to go), records the attempt, and trains or
// resumes it in place. The process ends itself if the process that started it dies, so a killed runner never
// leaves a cell training behind its back.
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { readCheckpointMeta } from '../checkpoint.ts';
import { runTraining, type RunResult } from '../trainer.ts';
import type { CheckpointMeta } from '../trainedModel.ts';
import type { MatrixCell } from './plan.ts';
import { CELL_FILE, type CellAttempt } from './runStore.ts';

const LOCK = 'worker.lock';
const LOCK_WAIT_MS = 120_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the cell's lock file, waiting while another live process on this host holds it; returns its release. */
function lockCell(dir: string): () => void {
  const path = join(dir, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: { pid: number; host: string } | undefined;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; host: string };
    } catch {
      holder = undefined; // being written, or garbage: look again
    }
    // A holder on another host cannot be checked from here: it keeps the lock until it goes.
    const stale = holder !== undefined && holder.host === hostname() && !processAlive(holder.pid);
    if (stale) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`cell ${dir} is being trained by process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'} ` +
        `(its lock ${path} stayed taken for ${LOCK_WAIT_MS / 1000} s)`);
    }
    sleepSync(200);
  }
}

/** Trains (or resumes, or reads back) the cell in `dir`; the worker's stdout/stderr are its log. */
export function runCell(dir: string, dataDir: string, backend: string): RunResult {
  const cellPath = join(dir, CELL_FILE);
  if (!existsSync(cellPath)) throw new Error(`${dir} is not a matrix cell (no ${CELL_FILE})`);
  let cell: MatrixCell;
  try {
    cell = JSON.parse(readFileSync(cellPath, 'utf8')) as MatrixCell;
  } catch (e) {
    throw new Error(`${cellPath} is corrupt (${(e as Error).message}); run the matrix again to rewrite it`);
  }
  const release = lockCell(dir);
  try {
    const meta = readCheckpointMeta<CheckpointMeta>(join(dir, 'checkpoint.ckpt'));
    const attempt: CellAttempt = {
      startedAt: new Date().toISOString(), pid: process.pid, host: hostname(),
      epochsDoneAtStart: meta ? meta.epochsDone + (meta.preHistory?.length ?? 0) : 0,
    };
    appendFileSync(join(dir, 'attempts.jsonl'), `${JSON.stringify(attempt)}\n`);
    console.log(`cell ${cell.id}: attempt on ${attempt.host} (pid ${attempt.pid}), ` +
      `${attempt.epochsDoneAtStart ? `resuming after ${attempt.epochsDoneAtStart} epoch(s)` : 'from the start'}`);
    const parent = process.ppid;
    return runTraining(cell.config, {
      out: dir, dataDir, backend,
      afterStep: () => {
        if (process.ppid !== parent) {
          console.error(`cell ${cell.id}: the process that started this worker is gone; stopping (the checkpoint is kept)`);
          process.exit(3);
        }
      },
    });
  } finally {
    release();
  }
}
