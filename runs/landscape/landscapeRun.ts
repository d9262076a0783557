// One landscape sweep of a trained model (`sqakd landscape`): loads the student as trained (quantized) and its
// teacher, picks the evaluation subset by seed, draws two filter-normalised directions (or, for a 1-D slice, takes
// the direction from another checkpoint to this one), evaluates every loss on the grid, measures sharpness at the
// trained point, and writes landscape.json and landscape.csv. Everything is seeded: the same request gives the same
// bytes, in one process, split over workers (each evaluates its share of the grid's chunks, gridChunks.ts) or
// killed and resumed (finished chunks are read back).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';


import { mixSeed } from '../../datasets/random.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { CELL_FILE } from '../matrix/runStore.ts';
import { claimOutputFolder } from '../outputFolder.ts';
import { refusedOnError, RunRefusedError } from '../runRefused.ts';
import { loadTrainedModel } from '../trainedModel.ts';
import { disposeSubset, evaluationSubset } from './evaluationSubset.ts';
import { interpolationDirection, randomDirection } from './filterDirections.ts';
import { HVP_RELATIVE_STEP, HVP_SCHEMES } from './hessianVector.ts';
import { LANDSCAPE_FILES, type LandscapeFile, writeLandscape } from './landscapeFile.ts';
import { ChunkStore, CHUNK_FOLDER, chunkRanges, fileDigest, sweepFingerprint } from './gridChunks.ts';
import { evaluateGrid, gridAxes } from './landscapeGrid.ts';
import { IGNORED_PARAMETERS, modelSpace } from './modelSpace.ts';
import { sharpnessAt } from './sharpness.ts';
import { LANDSCAPE_LOSSES, SWEEP_DEFAULTS, type SweepSettings } from './sweepSettings.ts';

/** A sweep: its required settings, and the rest (SWEEP_DEFAULTS when absent). */
export interface LandscapeRequest extends Pick<SweepSettings, 'losses' | 'grid' | 'range' | 'subset' | 'seed' | 'radius'>,
  Partial<Pick<SweepSettings, 'weights' | 'batchSize' | 'traceSamples' | 'powerIterations' | 'hvp'>> {
  checkpoint: string;
  /** The teacher's checkpoint; default: the one the student was trained from. null: no KL losses. */
  teacher?: string | null;
  dataDir: string;
  out: string;
  /** A checkpoint to take d1 from (to - from): a 1-D slice through the trained point. */
  interpolateFrom?: string;
  force?: boolean;
  /** Grid points per saved chunk (default: one row of the grid). */
  chunkSize?: number;
  /** Where the chunks are saved (default: <out>/chunks). */
  chunkDir?: string;
  /** Evaluate only the chunks k with k % of === index, save them and stop (a worker's share); nothing is assembled. */
  worker?: { index: number; of: number };
  /** Called after each chunk is saved (a test stops a sweep here, as a kill would). */
  afterChunk?: (index: number) => void;
  /** Called after every grid point, with the points of this run (a worker's: its share) done so far, saved chunks included. */
  onPoint?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

/** Of the power iteration: stop when the eigenvalue estimate moves by less than this fraction. */
const POWER_TOLERANCE = 1e-3;
export const CIRCLE_POINTS = 16;

/**
 * The teacher a model's configuration names: a matrix cell names its teacher relative to its own folder
 * (cellConfig.ts), `sqakd train --teacher` as the user gave it (relative to where they ran it).
 */
function recordedTeacher(checkpoint: string, teacher: string): string {
  if (isAbsolute(teacher)) return teacher;
  const besideRun = resolve(dirname(checkpoint), teacher);
  return existsSync(besideRun) ? besideRun : resolve(teacher);
}

/**
 * Claims a landscape's output folder: it may hold a landscape's files and chunks, nothing else (--force moves all
 * aside); or it is a matrix cell's folder (cell.json), where the report looks for the cell's landscape, and whose
 * files are never moved.
 */
export function claimLandscapeFolder(out: string, force: boolean): void {
  if (existsSync(join(out, CELL_FILE))) return;
  claimOutputFolder(out, (entry) => (Object.values(LANDSCAPE_FILES).includes(entry as never) || entry === CHUNK_FOLDER ||
    /\.tmp-\d+$/.test(entry) ? 'this-run' : 'foreign'), { force, elsewhere: 'another --out' });
}

/** Runs the sweep; returns what it wrote (null for a worker's share, which writes only its chunks). */
export function runLandscape(req: LandscapeRequest): LandscapeFile | null {
  const unknown = req.losses.filter((l) => !(LANDSCAPE_LOSSES as readonly string[]).includes(l));
  if (unknown.length) throw new RunRefusedError(`--loss: unknown loss '${unknown[0]}' (valid: ${LANDSCAPE_LOSSES.join(', ')})`);
  if (!Number.isInteger(req.grid) || req.grid < 2) throw new RunRefusedError(`--grid must be an integer of at least 2, got ${req.grid}`);
  if (!(req.range > 0)) throw new RunRefusedError(`--range must be a positive number, got ${req.range}`);
  if (!(req.radius > 0)) throw new RunRefusedError(`--radius must be a positive number, got ${req.radius}`);
  const hvp = req.hvp ?? SWEEP_DEFAULTS.hvp;
  if (!HVP_SCHEMES.includes(hvp)) throw new RunRefusedError(`--hvp must be one of ${HVP_SCHEMES.join(', ')}, got '${hvp}'`);
  claimLandscapeFolder(req.out, req.force === true && !req.worker);

  const student = refusedOnError(() => loadTrainedModel(req.checkpoint));
  const config = student.meta.config;
  const teacherPath = req.teacher === undefined ? (config.teacher ? recordedTeacher(req.checkpoint, config.teacher) : null) : req.teacher;
  const needsTeacher = req.losses.some((l) => l === 'kl' || l === 'ce+kl');
  if (needsTeacher && !teacherPath) {
    throw new RunRefusedError(`losses ${req.losses.join(',')} need a teacher: ${req.checkpoint} records none; give --teacher <checkpoint>`);
  }
  const teacher = needsTeacher ? refusedOnError(() => loadTrainedModel(teacherPath!)) : null;
  const spec = datasetSpec(config.dataset);
  if (teacher && teacher.meta.input.classes !== student.meta.input.classes) {
    student.model.dispose();
    teacher.model.dispose();
    throw new RunRefusedError(`teacher ${teacherPath} has ${teacher.meta.input.classes} classes, the model ${req.checkpoint} ` +
      `${student.meta.input.classes}: give the teacher it was trained from (--teacher)`);
  }
  const subset = evaluationSubset(refusedOnError(() => spec.load(req.dataDir, 'test')), spec, {
    count: req.subset, seed: req.seed, batchSize: req.batchSize ?? SWEEP_DEFAULTS.batchSize, teacher: teacher?.model ?? null,
  });
  const weights = req.weights ?? SWEEP_DEFAULTS.weights;
  try {
    const space = modelSpace(student.model, subset, { temperature: config.settings.temperature, weights });
    const theta = space.get();
    let d1: Float32Array;
    let d2: Float32Array | null;
    if (req.interpolateFrom) {
      const from = refusedOnError(() => loadTrainedModel(req.interpolateFrom!));
      const other = modelSpace(from.model, subset, { temperature: config.settings.temperature, weights });
      const shapes = (t: typeof space.tensors) => t.map((x) => `${x.name}:${x.shape.join('x')}`).join(',');
      if (shapes(other.tensors) !== shapes(space.tensors)) {
        from.model.dispose();
        throw new RunRefusedError(`--interpolate-from ${req.interpolateFrom} is not a checkpoint of this model: its parameters ` +
          `differ from ${req.checkpoint}'s (another architecture or quantization)`);
      }
      d1 = interpolationDirection(other.get(), theta, space);
      d2 = null;
      from.model.dispose();
    } else {
      d1 = randomDirection(space, theta, mixSeed(req.seed, 1));
      d2 = randomDirection(space, theta, mixSeed(req.seed, 2));
    }
    const axes = gridAxes(req.grid, req.range, d2 !== null);
    const total = axes.a.length * axes.b.length;
    const sweep = sweepFingerprint({
      checkpoint: fileDigest(req.checkpoint), teacher: teacher ? fileDigest(teacherPath!) : null,
      interpolateFrom: req.interpolateFrom ? fileDigest(req.interpolateFrom) : null, dataset: config.dataset, losses: req.losses,
      grid: req.grid, range: req.range, subset: req.subset, seed: req.seed, weights, batchSize: req.batchSize ?? SWEEP_DEFAULTS.batchSize,
    });
    mkdirSync(req.out, { recursive: true });
    const chunks = new ChunkStore(req.chunkDir ?? join(req.out, CHUNK_FOLDER), sweep);
    const points: Record<string, number>[] = new Array(total);
    // A worker's share: the chunks k with k % of === index.
    const share = chunkRanges(total, req.chunkSize ?? axes.a.length).map((range, index) => ({ range, index }))
      .filter(({ index }) => !req.worker || index % req.worker.of === req.worker.index);
    const toDo = share.reduce((n, { range }) => n + range.to - range.from, 0);
    const saved = share.filter(({ index }) => chunks.read(index)).length;
    if (saved) req.log?.(`${saved} of ${share.length} chunk(s) already saved: evaluating the other ${share.length - saved}`);
    let done = 0;
    share.forEach(({ range, index }) => {
      let chunk = chunks.read(index);
      if (!chunk) {
        const values = evaluateGrid(space, theta, d1, d2, axes, range, () => req.onPoint?.(++done, toDo));
        chunk = { sweep, index, ...range, points: values };
        chunks.write(chunk);
        req.afterChunk?.(index);
      } else {
        done += chunk.points.length;
        req.onPoint?.(done, toDo);
      }
      chunk.points.forEach((p, i) => { points[range.from + i] = p; });
    });
    if (req.worker) return null;
    const centre = space.evaluate();
    const losses = Object.fromEntries(req.losses.map((l) => [l, axes.b.map((_, j) => axes.a.map((__, i) => points[j * axes.a.length + i][l]))]));
    const differentiable = req.losses.filter((l) => l !== 'acc');
    const powerIterations = req.powerIterations ?? SWEEP_DEFAULTS.powerIterations;
    const traceSamples = req.traceSamples ?? SWEEP_DEFAULTS.traceSamples;
    req.log?.(`sharpness of ${differentiable.join(', ')}: ${powerIterations} power iterations, ${traceSamples} Hutchinson samples`);
    const sharpness = d2 ? sharpnessAt(space, differentiable, theta, d1, d2, {
      iterations: powerIterations, tolerance: POWER_TOLERANCE, seed: req.seed, samples: traceSamples,
      radius: req.radius, points: CIRCLE_POINTS, scheme: hvp,
    }) : {};
    const q = config.quantization;
    const file: LandscapeFile = {
      format: 1,
      model: { checkpoint: resolve(req.checkpoint), dataset: config.dataset, arch: config.arch, method: config.method,
        bits: q ? `W${q.wBits}A${q.aBits}` : 'FP32', seed: config.seed },
      teacher: teacherPath && needsTeacher ? { checkpoint: resolve(teacherPath) } : null,
      data: { dataset: config.dataset, split: 'test', subset: subset.count, seed: req.seed, indices: subset.indices.join(',') },
      directions: req.interpolateFrom ? {
        kind: 'interpolation', seeds: [],
        description: `d1 = this checkpoint - ${resolve(req.interpolateFrom)} on the swept weights (a 1-D slice); ${IGNORED_PARAMETERS}`,
      } : {
        kind: 'filter-normalised gaussian', seeds: [mixSeed(req.seed, 1), mixSeed(req.seed, 2)],
        description: 'Gaussian directions, each filter (a convolution or linear kernel\'s output channel) scaled to the ' +
          `norm of the trained filter (Li et al., NeurIPS 2018); ${IGNORED_PARAMETERS}`,
      },
      grid: { n: req.grid, range: req.range, a: axes.a, b: axes.b },
      settings: { temperature: config.settings.temperature, weights },
      losses, centre,
      sharpness,
      sharpnessMethod: {
        hessianVectorProducts: hvp === 'central'
          ? `central finite differences of gradients, (g(theta + eps v) - g(theta - eps v)) / 2 eps, eps |v| = ` +
            `${HVP_RELATIVE_STEP} x |theta| (error O(eps^2); checked on a quadratic and a quartic in test/runs/landscape)`
          : `forward finite differences of gradients, (g(theta + eps v) - g(theta)) / eps, eps |v| = ` +
            `${HVP_RELATIVE_STEP} x |theta| (error O(eps); checked on a quadratic and a quartic in test/runs/landscape)`,
        radius: req.radius, traceSamples, powerIterations,
      },
    };
    writeLandscape(req.out, file);
    chunks.clear();
    return file;
  } finally {
    disposeSubset(subset);
    student.model.dispose();
    teacher?.model.dispose();
  }
}
