// The run store: one folder per cell under runs/<matrix>/, holding the cell's definition (cell.json), the trainer's
// files (config.json, log.jsonl, checkpoint.ckpt, result.json), the worker's output (worker.log), one line per
// attempt (attempts.jsonl), the lock of the worker training it (worker.lock), the worker's progress report
// (progress.json, cellProgress.ts), after a failure, failure.json, and a landscape swept around its model
// (landscape.json, landscape.csv) with the folder of the sweep's jobs (landscape-<hash>/, landscapeJobs.ts), each job
// a folder with the same files as a cell's and a result.json of its own.
// Every whole-file write is atomic, so a killed process never leaves a half-written file; a cell is finished exactly
// when its result.json holds its configuration (wherever the store lives: see cellConfig.ts).
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../atomicWrite.ts';
import { LANDSCAPE_FILES } from '../landscape/landscapeFile.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { claimOutputFolder } from '../outputFolder.ts';
import type { RunResult } from '../trainer.ts';
import { sameCellConfig } from './cellConfig.ts';
import { liveLock, type LockSight } from './cellLock.ts';
import { type CellProgress, PROGRESS_FILE, readCellProgress } from './cellProgress.ts';
import { type LandscapeJobResult, SWEEP_FOLDER } from './landscapeJobs.ts';
import type { MatrixCell } from './plan.ts';

export type CellStatus = 'finished' | 'failed' | 'interrupted' | 'new';

export interface CellFailure {
  error: string;
  at: string;
  log: string;
}

/** One line of attempts.jsonl: a worker starting on the cell. */
export interface CellAttempt {
  startedAt: string;
  pid: number;
  host: string;
  /** Epochs (pre-stage included) its checkpoint held when the attempt began: > 0 means it resumed. */
  epochsDoneAtStart: number;
}

export const CELL_FILE = 'cell.json';
export const LOCK_FILE = 'worker.lock';
const RESULT = 'result.json';
const FAILURE = 'failure.json';
const WORKER_LOG = 'worker.log';
const ATTEMPTS = 'attempts.jsonl';

/** A cell folder's own files besides the trainer's (and the lock's temporaries), which the trainer leaves alone. */
export const CELL_COMPANION_FILES: readonly (string | RegExp)[] = [
  CELL_FILE, LOCK_FILE, FAILURE, WORKER_LOG, ATTEMPTS, PROGRESS_FILE, LANDSCAPE_FILES.json, LANDSCAPE_FILES.csv, SWEEP_FOLDER,
  /\.(?:new|aside)-[0-9a-f]+$/,
];

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const MATRIX_FILE = 'matrix.json';
/** Earlier matrix.json contents, one per line, when the matrix is run again with another spec. */
const MATRIX_HISTORY = 'matrix-history.jsonl';
const TEMPORARY = /\.tmp-\d+$/;

/** The folders of one matrix's cells. */
export class RunStore {
  constructor(readonly root: string) {}

  /**
   * Claims the store's folder before a matrix runs (outputFolder.ts): it may hold its own files and cell folders,
   * nothing else; then records the spec and cells in matrix.json, an earlier spec's kept in matrix-history.jsonl.
   */
  claim(record: { spec: unknown; cells: string[]; landscapeJobs?: string[] }, options: { force?: boolean; log?: (line: string) => void } = {}): void {
    claimOutputFolder(this.root, (entry) => (entry === MATRIX_FILE || entry === MATRIX_HISTORY || TEMPORARY.test(entry) ||
      existsSync(join(this.root, entry, CELL_FILE)) ? 'this-run' : 'foreign'),
    { force: options.force, elsewhere: 'another --name or --runs-dir', log: options.log });
    mkdirSync(this.root, { recursive: true });
    const path = join(this.root, MATRIX_FILE);
    const earlier = readJson<unknown>(path);
    if (earlier !== undefined && canonicalJson(earlier) !== canonicalJson(record)) {
      appendFileSync(join(this.root, MATRIX_HISTORY), `${JSON.stringify(earlier)}\n`);
    }
    writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  }

  cellDir(id: string): string {
    return join(this.root, id);
  }

  workerLogPath(id: string): string {
    return join(this.cellDir(id), WORKER_LOG);
  }

  /** Creates the cell's folder and writes its definition (what a worker reads). */
  prepare(cell: MatrixCell): void {
    mkdirSync(this.cellDir(cell.id), { recursive: true });
    writeFileAtomic(join(this.cellDir(cell.id), CELL_FILE), `${JSON.stringify(cell, null, 2)}\n`);
  }

  /** Where a cell stands: finished (a result of its exact configuration), failed, interrupted (a checkpoint), new. */
  status(cell: MatrixCell): CellStatus {
    const dir = this.cellDir(cell.id);
    if (cell.landscape) {
      const done = this.landscapeResult(cell.id);
      if (done && canonicalJson(done.landscape) === canonicalJson(cell.landscape)) return 'finished';
    } else {
      const result = readJson<RunResult>(join(dir, RESULT));
      if (result && sameCellConfig(result.config, cell.config)) return 'finished';
    }
    if (existsSync(join(dir, FAILURE))) return 'failed';
    if (existsSync(join(dir, cell.landscape ? ATTEMPTS : 'checkpoint.ckpt'))) return 'interrupted';
    return 'new';
  }

  /** The lock of a live worker training the cell (here or on another machine), or undefined when it is free. */
  liveLock(id: string): LockSight | undefined {
    return liveLock(join(this.cellDir(id), LOCK_FILE));
  }

  result(id: string): RunResult | undefined {
    return readJson<RunResult>(join(this.cellDir(id), RESULT));
  }

  /** A landscape job's result (landscapeJobs.ts). */
  landscapeResult(id: string): LandscapeJobResult | undefined {
    const result = readJson<LandscapeJobResult>(join(this.cellDir(id), RESULT));
    return result?.landscape ? result : undefined;
  }

  failure(id: string): CellFailure | undefined {
    return readJson<CellFailure>(join(this.cellDir(id), FAILURE));
  }

  attempts(id: string): CellAttempt[] {
    const path = join(this.cellDir(id), ATTEMPTS);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as CellAttempt);
  }

  /** Records a failure with the tail of the worker's log. */
  recordFailure(id: string, error: string): CellFailure {
    const failure: CellFailure = { error, at: new Date().toISOString(), log: this.logTail(id) };
    mkdirSync(this.cellDir(id), { recursive: true });
    writeFileAtomic(join(this.cellDir(id), FAILURE), `${JSON.stringify(failure, null, 2)}\n`);
    return failure;
  }

  clearFailure(id: string): void {
    rmSync(join(this.cellDir(id), FAILURE), { force: true });
  }

  /** The last lines of the cell's worker log. */
  logTail(id: string, lines = 20): string {
    try {
      return readFileSync(this.workerLogPath(id), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** The cell's progress report as its worker last wrote it (cellProgress.ts judges whether it is live). */
  progress(id: string): CellProgress | undefined {
    return readCellProgress(join(this.cellDir(id), PROGRESS_FILE));
  }

  /** Epochs finished so far (from log.jsonl), for progress displays. */
  epochsDone(id: string): number {
    try {
      return readFileSync(join(this.cellDir(id), 'log.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  }
}
