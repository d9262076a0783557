// Runs one cell inside a worker process (`sqakd run-cell <folder>`): reads the cell's definition, takes the
// cell's lock (cellLock.ts: a second worker waits for a live owner and takes over a dead one's), clears what dead
// processes left behind, records the attempt, and trains or resumes the cell in place, with the cell's folder as
// working directory (its teacher is named relative to it), or runs a landscape job (runLandscapeJob.ts). The process
// ends itself if the process that started it dies, so a killed runner never leaves a cell training behind its back,
// and releases the lock on the way out.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { readCheckpointMeta } from '../checkpoint.ts';
import { allSinks } from '../progress.ts';
import { TerminalProgress } from '../terminalProgress.ts';
import type { TeacherCheck } from '../teacherCheck.ts';
import { runTraining, type RunResult } from '../trainer.ts';
import type { CheckpointMeta } from '../trainedModel.ts';
import { upgradeStoredConfig } from '../trainConfig.ts';
import { readTrainConfig } from '../trainConfigSchema.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { sameCellConfig, trainerConfig } from './cellConfig.ts';
import { acquireLock, LOCK_TIMINGS } from './cellLock.ts';
import { PROGRESS_FILE, ProgressFileSink } from './cellProgress.ts';
import { CELL_BUSY_EXIT, RUNNER_GONE_EXIT } from './exitCodes.ts';
import { removeLeftoverTemporaries } from './leftovers.ts';
import type { LandscapeJob, LandscapeJobResult } from './landscapeJobs.ts';
import type { MatrixCell } from './plan.ts';
import { runLandscapeJob } from './runLandscapeJob.ts';
import { CELL_COMPANION_FILES, CELL_FILE, type CellAttempt, LOCK_FILE, RunStore } from './runStore.ts';

/** The cell is another live worker's to run; the worker exits with CELL_BUSY_EXIT. */
export class CellBusyError extends Error {}

/** What a worker reads of a cell.json: its id and configuration, checked; a bad file is a one-line error. */
function readCellFile(path: string): Pick<MatrixCell, 'id' | 'config' | 'teacherCheck' | 'landscape'> {
  const rewrite = 'run the matrix again to rewrite it';
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is corrupt (${(e as Error).message}); ${rewrite}`);
  }
  const cell = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof cell.id !== 'string' || !cell.id) throw new Error(`${path} is not a valid cell: id: must be the cell's name; ${rewrite}`);
  try {
    return {
      id: cell.id, config: readTrainConfig(cell.config, ['config']), teacherCheck: readTeacherCheck(cell.teacherCheck),
      landscape: cell.kind === 'landscape' ? readLandscapeJob(cell.landscape) : undefined,
    };
  } catch (e) {
    throw new Error(`${path} is not a valid cell: ${(e as Error).message}; ${rewrite}`);
  }
}

/** A cell's teacher check as the planner wrote it, or a one-line error naming what is wrong with it. */
function readTeacherCheck(raw: unknown): TeacherCheck | undefined {
  if (raw === undefined) return undefined;
  const { minTop1, action, ...rest } = (typeof raw === 'object' && raw !== null ? raw : { raw }) as Record<string, unknown>;
  const valid = !Object.keys(rest).length && (minTop1 === undefined || typeof minTop1 === 'number') &&
    (action === undefined || action === 'warn' || action === 'error');
  if (!valid) throw new Error('teacherCheck: must be { minTop1?: number, action?: warn|error }');
  return { minTop1: minTop1 as number | undefined, action: action as TeacherCheck['action'] };
}

/** A landscape job as the planner wrote it (its parts checked for presence; runLandscape checks the settings). */
function readLandscapeJob(raw: unknown): LandscapeJob {
  const job = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<LandscapeJob>;
  const part = job.part;
  const partValid = part === 'finish' || part === 'whole' ||
    (typeof part === 'object' && part !== null && Number.isInteger(part.index) && Number.isInteger(part.of) && part.index < part.of);
  if (typeof job.cell !== 'string' || typeof job.sweep !== 'string' || typeof job.settings !== 'object' || !partValid) {
    throw new Error('landscape: must be { cell, sweep, settings, part } (landscapeJobs.ts)');
  }
  return job as LandscapeJob;
}

/** How a cell's run ended: a training result, or a landscape job's. */
export type CellRun = { kind: 'training'; result: RunResult } | { kind: 'landscape'; result: LandscapeJobResult };

/** Trains (or resumes, or reads back) the cell in `dir`, or runs its landscape job; the worker's stdout/stderr are its log. */
export function runCell(dir: string, dataDir: string, backend: string, options: {
  allowEnvChange?: boolean;
  /** The weak-teacher check (RunPlace.teacherCheck): a matrix can make a weak teacher an error. */
  teacherCheck?: TeacherCheck;
} = {}): CellRun {
  const cellDir = resolve(dir);
  const data = resolve(dataDir);
  const cellPath = join(cellDir, CELL_FILE);
  if (!existsSync(cellPath)) throw new Error(`${cellDir} is not a matrix cell (no ${CELL_FILE})`);
  const cell = readCellFile(cellPath);
  const say = (line: string) => console.log(`cell ${cell.id}: ${line}`);
  const taken = acquireLock(join(cellDir, LOCK_FILE), LOCK_TIMINGS, say);
  if ('busy' in taken) {
    const owner = taken.busy.owner;
    throw new CellBusyError(`cell ${cell.id} is being trained by process ${owner?.pid ?? '?'} on ${owner?.host ?? '?'} ` +
      `(its lock's heartbeat is ${Math.round((Date.now() - taken.busy.mtimeMs) / 1000)} s old); leaving it to that worker`);
  }
  const lock = taken.held;
  // process.exit() (below, or anywhere in the trainer) skips finally blocks but runs exit listeners.
  const releaseOnExit = () => lock.release();
  process.on('exit', releaseOnExit);
  const previousDir = process.cwd();
  try {
    const removed = removeLeftoverTemporaries(cellDir);
    if (removed.length) say(`removed ${removed.join(', ')}, left by dead processes`);
    const parent = process.ppid;
    const stopIfOrphaned = () => {
      if (lock.lost) {
        console.error(`cell ${cell.id}: another worker has taken over this cell's lock; stopping (the checkpoint is kept)`);
        process.exit(CELL_BUSY_EXIT);
      }
      if (process.ppid !== parent) {
        console.error(`cell ${cell.id}: the process that started this worker is gone; stopping (the checkpoint is kept)`);
        process.exit(RUNNER_GONE_EXIT);
      }
    };
    const store = new RunStore(dirname(cellDir));
    if (cell.landscape) {
      // A queue can hand out a job that another worker finished meanwhile: reading it back is no attempt.
      const done = store.landscapeResult(basename(cellDir));
      if (done && canonicalJson(done.landscape) === canonicalJson(cell.landscape)) {
        say('already finished');
        return { kind: 'landscape', result: done };
      }
      const attempt: CellAttempt = { startedAt: new Date().toISOString(), pid: process.pid, host: lock.owner.host, epochsDoneAtStart: 0 };
      appendFileSync(join(cellDir, 'attempts.jsonl'), `${JSON.stringify(attempt)}\n`);
      say(`attempt on ${attempt.host} (pid ${attempt.pid})`);
      return { kind: 'landscape', result: runLandscapeJob(cellDir, cell.landscape, data, { pid: process.pid, afterPoint: stopIfOrphaned, log: say }) };
    }
    // A queue can hand out a cell that another worker finished meanwhile: reading it back is no attempt.
    const finished = store.result(basename(cellDir));
    if (finished && sameCellConfig(finished.config, cell.config)) {
      say('already finished');
      return { kind: 'training', result: finished };
    }
    const meta = readCheckpointMeta<CheckpointMeta>(join(cellDir, 'checkpoint.ckpt'));
    const config = trainerConfig(cell.config, meta ? upgradeStoredConfig(meta.config) : undefined);
    const attempt: CellAttempt = {
      startedAt: new Date().toISOString(), pid: process.pid, host: lock.owner.host,
      epochsDoneAtStart: meta ? meta.epochsDone + (meta.preHistory?.length ?? 0) : 0,
    };
    appendFileSync(join(cellDir, 'attempts.jsonl'), `${JSON.stringify(attempt)}\n`);
    say(`attempt on ${attempt.host} (pid ${attempt.pid}), ` +
      `${attempt.epochsDoneAtStart ? `resuming after ${attempt.epochsDoneAtStart} epoch(s)` : 'from the start'}`);
    process.chdir(cellDir);
    return { kind: 'training', result: runTraining(config, {
      out: cellDir, dataDir: data, backend, companionFiles: CELL_COMPANION_FILES, allowEnvChange: options.allowEnvChange,
      // The command line's check (sqakd run-cell flags) over the matrix spec's.
      teacherCheck: { ...cell.teacherCheck, ...options.teacherCheck },
      // The lines in worker.log, and the file the runner's display reads (through the store, from any machine).
      progress: allSinks(new TerminalProgress(process.stderr),
        new ProgressFileSink(join(cellDir, PROGRESS_FILE), { pid: attempt.pid, host: attempt.host })),
      afterStep: stopIfOrphaned,
    }) };
  } finally {
    process.chdir(previousDir);
    process.off('exit', releaseOnExit);
    lock.release();
  }
}
