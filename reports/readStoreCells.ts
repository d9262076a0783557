// Reads a matrix's run store (runs/<matrix>/) into report cells. The store describes itself: matrix.json lists the
// matrix's cells and each cell folder's cell.json says what the cell is, so a report needs neither the spec nor the
// data. A file that cannot be read makes its cell `corrupt`, named with the reason, and every other cell is still
// reported; a store that is being written to (a running matrix) is read as it stands.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { methodLabel } from '../methods/registry.ts';
import { sameCellConfig } from '../runs/matrix/cellConfig.ts';
import type { MatrixCell } from '../runs/matrix/plan.ts';
import { CELL_FILE, RunStore } from '../runs/matrix/runStore.ts';
import { LANDSCAPE_FILES } from '../runs/landscape/landscapeFile.ts';
import { RUN_FILES } from '../runs/runFolder.ts';
import type { EpochRecord } from '../runs/trainedModel.ts';
import type { RunResult } from '../runs/trainer.ts';
import { quantizerVariant } from './quantizerVariant.ts';
import type { EpochPoint, LandscapeSummary, ReportCell } from './reportCell.ts';

export const MATRIX_FILE = 'matrix.json';

export interface StoreReading {
  /** The matrix's name (the store folder's). */
  name: string;
  cells: ReportCell[];
  /** One line per file that could not be read, naming it. */
  problems: string[];
}

type Parsed<T> = { value: T } | { error: string } | undefined;

/** A JSON file's value, its parse error, or undefined when it does not exist. */
function readJsonFile<T>(path: string): Parsed<T> {
  if (!existsSync(path)) return undefined;
  try {
    return { value: JSON.parse(readFileSync(path, 'utf8')) as T };
  } catch (e) {
    return { error: `${path}: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The test top-1 after each training epoch (pre-stage epochs have no place on a convergence curve). */
function curveOf(records: EpochRecord[]): EpochPoint[] {
  return records.filter((r) => r.stage !== 'pre' && typeof r.top1 === 'number').map((r) => ({ epoch: r.epoch, top1: r.top1 }));
}

/** The epochs log.jsonl holds so far; a half-written last line (a worker killed mid-write) is left out. */
function loggedEpochs(path: string): EpochRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).flatMap((line) => {
    try {
      return [JSON.parse(line) as EpochRecord];
    } catch {
      return [];
    }
  });
}

/** The cell ids of the matrix: matrix.json's list, else every folder holding a cell.json. */
function cellIds(root: string, problems: string[]): string[] {
  const matrix = readJsonFile<{ cells?: unknown }>(join(root, MATRIX_FILE));
  if (matrix && 'value' in matrix && Array.isArray(matrix.value.cells)) return matrix.value.cells.filter((c) => typeof c === 'string');
  if (matrix && 'error' in matrix) problems.push(matrix.error);
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, CELL_FILE))).map((e) => e.name).sort();
}

/** A cell whose definition is unreadable: only its id and the reason are known. */
function unknownCell(id: string, problem: string): ReportCell {
  return {
    id, kind: 'student', dataset: '?', arch: '?', quantizer: '?', variant: '?', bits: '?', wBits: null, aBits: null,
    method: '?', labelFree: false, label: '?', seed: 0, epochsPlanned: 0, state: 'corrupt', top1: null, top1Best: null,
    teacherTop1: null, imagesPerSecond: null, wallSeconds: null, backend: null, curve: [], problem,
  };
}

function landscapeOf(dir: string, problems: string[]): LandscapeSummary | undefined {
  const read = readJsonFile<LandscapeSummary>(join(dir, LANDSCAPE_FILES.json));
  if (read && 'error' in read) problems.push(read.error);
  return read && 'value' in read && read.value?.sharpness && typeof read.value.sharpness === 'object' ? read.value : undefined;
}

/** One cell as the report sees it. */
function reportCell(store: RunStore, cell: MatrixCell & { kind: ReportCell['kind'] }, problems: string[]): ReportCell {
  const dir = store.cellDir(cell.id);
  const read = readJsonFile<RunResult>(join(dir, RUN_FILES.result));
  let result: RunResult | undefined;
  let problem: string | undefined;
  if (read && 'error' in read) problem = `result.json cannot be read: ${read.error}`;
  else if (read && (typeof read.value?.top1 !== 'number' || !read.value.config)) problem = `${join(dir, RUN_FILES.result)}: no top1 or config`;
  // A result of another configuration (an earlier spec) is not this cell's.
  else if (read && sameCellConfig(read.value.config, cell.config)) result = read.value;
  if (problem) problems.push(problem);
  const q = (result?.config ?? cell.config).quantization;
  const labelFree = result ? !result.labelsUsed : cell.config.settings.labelFree;
  const failure = result || problem ? undefined : store.failure(cell.id);
  const state = problem ? 'corrupt' : result ? 'finished' : store.liveLock(cell.id) ? 'running'
    : failure ? 'failed' : existsSync(join(dir, RUN_FILES.checkpoint)) ? 'interrupted' : 'not run';
  return {
    id: cell.id, kind: cell.kind, dataset: cell.config.dataset, arch: cell.config.arch, quantizer: q?.quantizer ?? 'none',
    variant: quantizerVariant(q), bits: q ? `W${q.wBits}A${q.aBits}` : 'FP32', wBits: q?.wBits ?? null, aBits: q?.aBits ?? null,
    method: cell.kind === 'teacher' ? 'teacher' : cell.config.method, labelFree: cell.kind === 'student' && labelFree,
    label: cell.kind === 'teacher' ? 'teacher' : methodLabel(cell.config.method, labelFree),
    seed: cell.config.seed, epochsPlanned: cell.config.phase.epochs, state, result,
    top1: result?.top1 ?? null, top1Best: result?.top1Best ?? null, teacherTop1: result?.teacherTop1 ?? null,
    imagesPerSecond: result?.imagesPerSecond ?? null, wallSeconds: result?.wallSeconds ?? null, backend: result?.backend ?? null,
    curve: curveOf(result?.history ?? loggedEpochs(join(dir, RUN_FILES.log))),
    failure: state === 'failed' && failure ? { error: failure.error, log: failure.log } : undefined, problem,
    landscape: landscapeOf(dir, problems),
  };
}

/** Every cell of the store at `root`, teachers first, in the matrix's order. */
export function readStoreCells(root: string, name: string): StoreReading {
  const problems: string[] = [];
  const store = new RunStore(root);
  const cells = cellIds(root, problems).flatMap((id) => {
    const def = readJsonFile<MatrixCell>(join(store.cellDir(id), CELL_FILE));
    // A landscape job's result is its student's landscape.json, read with the student.
    if (def && 'value' in def && def.value?.kind === 'landscape') return [];
    if (!def) {
      const problem = `${join(store.cellDir(id), CELL_FILE)} is missing`;
      problems.push(problem);
      return [unknownCell(id, problem)];
    }
    if ('error' in def || !def.value?.config) {
      const problem = 'error' in def ? `cell.json cannot be read: ${def.error}` : `${join(store.cellDir(id), CELL_FILE)}: no config`;
      problems.push(problem);
      return [unknownCell(id, problem)];
    }
    return [reportCell(store, def.value as MatrixCell & { kind: ReportCell['kind'] }, problems)];
  });
  return { name, cells: [...cells.filter((c) => c.kind === 'teacher'), ...cells.filter((c) => c.kind !== 'teacher')], problems };
}

/** The matrices of a runs folder: its sub-folders holding a matrix.json. */
export function storedMatrices(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(runsDir, e.name, MATRIX_FILE))).map((e) => e.name).sort();
}
