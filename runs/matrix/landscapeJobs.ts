// The jobs of a matrix spec's `landscape` section: for every student it picks, a sweep of that student's loss
// landscape, run by the matrix's own workers (local pool or Redis queue) after the student has finished. A sweep in
// one job evaluates the grid, measures sharpness and writes the files; split into N jobs, each evaluates its share of
// the grid's chunks (k, k + N, ...) and one more job, after them, reads the chunks back, measures sharpness and writes
// landscape.json and landscape.csv into the student's folder. Chunks are saved as they finish, so a killed job resumes
// chunk by chunk, and any split gives the same bytes (at the same thread count: floating-point sums).
//
// A sweep lives in a folder of its student's cell, named by the hash of its settings (`<cell>/landscape-<hash>/`):
// its chunks, and one folder per job (`part-1-of-4/`, ..., `finish/`, or `whole/`) holding what any matrix job holds
// (cell.json, worker.log, worker.lock, attempts, a result.json when done).
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

import { canonicalJson } from '../canonicalJson.ts';
import { type SweepSettings, SWEEP_DEFAULTS } from '../landscape/sweepSettings.ts';
import type { AxisName } from './matrixSpec.ts';
import type { LandscapeSection } from './matrixSpecSchema.ts';
import type { MatrixCell, ModelFacts } from './plan.ts';

/** One job of a sweep. */
export interface LandscapeJob {
  /** The swept student's cell id: landscape.json goes into its folder. */
  cell: string;
  /** The sweep's folder inside the cell's (`landscape-<hash>`). */
  sweep: string;
  settings: SweepSettings;
  /** Grid points per saved chunk (default: one grid row). */
  chunkSize?: number;
  /** A share of the grid's chunks; `finish`: sharpness and the files, after the shares; `whole`: all of it. */
  part: { index: number; of: number } | 'finish' | 'whole';
}

/** What a finished job leaves in its folder's result.json. */
export interface LandscapeJobResult {
  landscape: LandscapeJob;
  wallSeconds: number;
  finishedAt: string;
}

export const SWEEP_CHUNKS = 'chunks';
/** A sweep's folder in a cell's: the trainer leaves these alone (runStore.ts's companion files). */
export const SWEEP_FOLDER = /^landscape-[0-9a-f]{10}$/;

/** The folder of the cell a landscape job at `jobDir` sweeps (the job is `<cell>/<sweep>/<part>`). */
export function sweptCellDir(jobDir: string): string {
  return resolve(jobDir, '..', '..');
}

/** The folder a job's sweep keeps its chunks in. */
export function sweepChunkDir(jobDir: string): string {
  return join(resolve(jobDir, '..'), SWEEP_CHUNKS);
}

/** A section's settings with the defaults filled in: what decides a sweep's numbers. */
function sweepSettings(section: LandscapeSection): SweepSettings {
  const d = SWEEP_DEFAULTS;
  return {
    losses: section.losses ?? d.losses, grid: section.grid ?? d.grid, range: section.range ?? d.range,
    subset: section.subset ?? d.subset, seed: section.seed ?? d.seed, radius: section.radius ?? d.radius,
    weights: section.weights ?? d.weights, batchSize: section.batchSize ?? d.batchSize,
    traceSamples: section.traceSamples ?? d.traceSamples, powerIterations: section.powerIterations ?? d.powerIterations,
    hvp: section.hvp ?? d.hvp,
  };
}

function matches(cell: MatrixCell, partial: Partial<Record<AxisName, string>>): boolean {
  return Object.entries(partial).every(([axis, value]) => cell.axes[axis as AxisName] === value);
}

/** Multiply-accumulates of a job: forward passes of the student on the subset (a gradient costs about three). */
function jobMacs(settings: SweepSettings, points: number, sharpness: boolean, facts: ModelFacts | undefined) {
  const differentiable = settings.losses.filter((l) => l !== 'acc').length;
  // Teacher outputs and the centre once; per loss, one or two gradients per Hessian-vector product and a circle of 16 points.
  const perProduct = settings.hvp === 'central' ? 6 : 3;
  const forwards = 1 + points + (sharpness ? differentiable * ((settings.powerIterations + settings.traceSamples) * perProduct + 16) : 0);
  const imageSteps = forwards * settings.subset;
  return { imageSteps, macs: facts ? imageSteps * facts.macsPerImage : null };
}

/**
 * The landscape jobs of `section` for the `students` it picks (every one without `cells`); `problems` gets a line
 * for each partial cell that picks no student.
 */
export function landscapeJobs(section: LandscapeSection, students: readonly MatrixCell[],
  factsFor: (arch: string, dataset: string) => ModelFacts | undefined, problems: Set<string>): MatrixCell[] {
  const settings = sweepSettings(section);
  const sweep = `landscape-${createHash('sha256').update(canonicalJson({ settings, chunkSize: section.chunkSize ?? null })).digest('hex').slice(0, 10)}`;
  section.cells?.forEach((partial, i) => {
    if (!students.some((s) => matches(s, partial))) problems.add(`landscape.cells[${i}]: picks no student of the matrix`);
  });
  const picked = students.filter((s) => !section.cells || section.cells.some((partial) => matches(s, partial)));
  const jobs = section.jobs ?? 1;
  const points = settings.grid * settings.grid;
  return picked.flatMap((student) => {
    const facts = factsFor(student.config.arch, student.config.dataset);
    const job = (part: LandscapeJob['part'], dependsOn: string[], share: number, sharpness: boolean): MatrixCell => {
      const name = part === 'finish' || part === 'whole' ? part : `part-${part.index + 1}-of-${part.of}`;
      const landscape: LandscapeJob = { cell: student.id, sweep, settings, ...(section.chunkSize ? { chunkSize: section.chunkSize } : {}), part };
      return {
        id: `${student.id}/${sweep}/${name}`, kind: 'landscape', axes: student.axes, config: student.config, dependsOn,
        ...jobMacs(settings, share, sharpness, facts), landscape,
      };
    };
    if (jobs === 1) return [job('whole', [student.id], points, true)];
    const parts = Array.from({ length: jobs }, (_, index) => job({ index, of: jobs }, [student.id], Math.ceil(points / jobs), false));
    return [...parts, job('finish', parts.map((p) => p.id), 0, true)];
  });
}
