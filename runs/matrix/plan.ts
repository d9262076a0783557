// From a matrix spec to the cells to run: every combination of each grid's axes (less exclusions), each resolved
// to a complete training configuration, plus one teacher cell per dataset and architecture that every student of
// that pair shares. A cell's identity is a hash of its resolved configuration (the teacher named by its cell's
// identity, not its path), so changing a recipe or setting re-runs exactly the cells it affects. A student names a
// teacher cell's checkpoint relative to its own folder, so the store can move (or be mounted elsewhere on a worker
// machine) without changing any configuration. A spec's `landscape` section adds the jobs that sweep chosen students
// after they finish (landscapeJobs.ts).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { datasetFolder } from '../../datasets/dataDir.ts';
import { DATASETS, datasetSpec } from '../../datasets/registry.ts';
import { didYouMean } from '../../engine/didYouMean.ts';
import { checkBits } from '../../methods/quantizers/quantizer.ts';
import { quantizerFamily } from '../../methods/quantizers/registry.ts';
import { trainingMethod } from '../../methods/registry.ts';
import { architectureSpec } from '../../models/registry.ts';
import { canonicalJson } from '../canonicalJson.ts';
import type { TeacherCheck } from '../teacherCheck.ts';
import { FULL_PRECISION, resolveTrainConfig, type TrainConfig, type TrainRequest } from '../trainConfig.ts';
import { teacherCellPath } from './cellConfig.ts';
import { type LandscapeJob, landscapeJobs } from './landscapeJobs.ts';
import { AXES, axisValueSource, type AxisName, MatrixSpecError, type MatrixSpec, parseBits, parseMethodValue,
  parseQuantizerValue } from './matrixSpec.ts';

/** What the plan needs to know about a model on a dataset (see modelFacts.ts). */
export interface ModelFacts {
  tapNames: readonly string[];
  /** Multiply-accumulates of one forward pass of one image. */
  macsPerImage: number;
}

export interface MatrixCell {
  /** `<readable name>-<hash>`: the cell's folder in the run store (a landscape job's: `<cell>/<sweep>/<part>`). */
  id: string;
  /** A landscape job sweeps a finished student (landscapeJobs.ts); its config is that student's. */
  kind: 'teacher' | 'student' | 'landscape';
  /** The axis values (teachers: dataset, arch and seed). */
  axes: Partial<Record<AxisName, string>>;
  config: TrainConfig;
  /** Cells that must finish first (a student's teacher). */
  dependsOn: string[];
  /** Estimated work in multiply-accumulates (training and evaluation), or null without model facts. */
  macs: number | null;
  /** Training images per epoch times epochs (pre-stages included). */
  imageSteps: number;
  /** A student's check of its teacher's top-1 (the spec's teacherMinTop1 and weakTeacher); not part of its identity. */
  teacherCheck?: TeacherCheck;
  /** A landscape job's sweep and share. */
  landscape?: LandscapeJob;
}

export interface MatrixPlan {
  name: string;
  /** The run store folder of this matrix. */
  root: string;
  cells: MatrixCell[];
  /** What a real run would refuse that this plan was told to allow (PlanOptions.missingData 'warn'). */
  warnings: string[];
}

export interface PlanOptions {
  /** The run store (default `runs`); the matrix lives in `<runsDir>/<name>`. */
  runsDir: string;
  dataDir: string;
  /** Facts about an architecture on a dataset; without it, taps are not checked and costs are unknown. */
  modelFacts?: (arch: string, dataset: string) => ModelFacts | undefined;
  /** Problems found before planning (the spec's structure, the command line), reported with the plan's own. */
  earlierProblems?: readonly string[];
  /** A dataset folder missing from the data directory: a problem (default), or a warning for a plan that reads no data. */
  missingData?: 'error' | 'warn';
}

function shortHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 10);
}

/** A teacher cell's identity: its architecture, dataset and seed, and the hash of its resolved configuration. */
export function teacherCellId(config: TrainConfig): string {
  return `teacher-${config.arch}-${config.dataset}-s${config.seed}-${shortHash(config)}`;
}

function scaled(epochs: number, scale: number | undefined): number {
  return scale === undefined ? epochs : Math.max(1, Math.round(epochs * scale));
}

/**
 * Resolves a request, then shrinks its schedule (its pre-stage and its warm-up too) by the spec's epochs scale: a
 * warm-up counted in iterations would otherwise fill the whole of a shrunk run.
 */
export function resolveScaled(request: TrainRequest, scale: number | undefined): TrainConfig {
  const first = resolveTrainConfig(request);
  if (scale === undefined) return first;
  const config = resolveTrainConfig({
    ...request, epochs: scaled(first.phase.epochs, scale),
    preEpochs: first.settings.preEpochs > 0 ? scaled(first.settings.preEpochs, scale) : request.preEpochs,
  });
  const schedule = config.phase.schedule;
  if (schedule.kind !== 'warmup-cosine') return config;
  const warmupIterations = Math.max(1, Math.round(schedule.warmupIterations * scale));
  return { ...config, phase: { ...config.phase, schedule: { ...schedule, warmupIterations } } };
}

function excluded(spec: MatrixSpec, axes: Record<AxisName, string>): boolean {
  return spec.exclude.some((e) => Object.entries(e).every(([k, v]) => axes[k as AxisName] === v));
}

/** Every combination of a grid's axis values. */
function combinations(grid: MatrixSpec['grids'][number]): Record<AxisName, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const axis of AXES) out = out.flatMap((partial) => grid[axis].map((v) => ({ ...partial, [axis]: String(v) })));
  return out as Record<AxisName, string>[];
}

function estimateCost(config: TrainConfig, facts: ModelFacts | undefined, trainCount: number, testCount: number,
  withTeacher: boolean) {
  const images = config.trainImages ?? trainCount;
  const epochs = config.phase.epochs + config.settings.preEpochs;
  const imageSteps = images * epochs;
  // A training step costs about three forward passes (forward, and backward for inputs and weights).
  const macs = facts ? imageSteps * facts.macsPerImage * (3 + (withTeacher ? 1 : 0)) + testCount * epochs * facts.macsPerImage : null;
  return { imageSteps, macs };
}

/**
 * A grid's bad axis values, by axis, each with its problem named once with what is valid, at the place the value
 * was written (`grid.method[3]`, or the --set that brought it in).
 */
function axisValueProblems(grid: MatrixSpec['grids'][number], where: string): { problems: string[]; bad: Set<string> } {
  const problems: string[] = [];
  const bad = new Set<string>();
  let current = '';
  let place = '';
  const check = (f: () => void) => {
    try {
      f();
    } catch (e) {
      problems.push(`${place}: ${(e as Error).message}`);
      bad.add(current);
    }
  };
  const on = (axis: AxisName, value: string | number) => {
    current = badKey(axis, String(value));
    place = axisValueSource(grid, axis, value) ?? `${where}.${axis}[${(grid[axis] as (string | number)[]).indexOf(value)}]`;
  };
  for (const dataset of grid.dataset) {
    on('dataset', dataset);
    check(() => datasetSpec(dataset));
  }
  for (const arch of grid.arch) {
    on('arch', arch);
    check(() => architectureSpec(arch));
  }
  for (const quantizer of grid.quantizer) {
    on('quantizer', quantizer);
    check(() => {
      if (quantizer === FULL_PRECISION) throw new Error("quantizer 'none' is the teachers'; the matrix trains them itself");
      quantizerFamily(parseQuantizerValue(quantizer).quantizer);
    });
  }
  for (const bits of grid.bits) {
    on('bits', bits);
    check(() => {
      const { wBits, aBits } = parseBits(bits);
      checkBits(wBits, `weight bits of ${bits}`);
      checkBits(aBits, `activation bits of ${bits}`);
    });
  }
  for (const value of grid.method) {
    on('method', value);
    check(() => {
      const { name, labelFree } = parseMethodValue(value);
      const variant = value.split(':')[1];
      if (variant !== undefined && variant !== 'label-free') {
        throw new Error(`method variant '${variant}' in '${value}' is unknown${didYouMean(variant, ['label-free'])} ` +
          '(valid: <method>:label-free)');
      }
      const m = trainingMethod(name);
      if (labelFree && m.kind !== 'feature') {
        throw new Error(`${value} is not a variant: ${m.name} ${m.needsLabels ? 'is defined by its labels' : 'never reads labels'}`);
      }
      if (labelFree && !m.labelFree.possible) throw new Error(`method ${m.name} cannot run label-free: ${m.labelFree.reason}`);
    });
  }
  for (const seed of grid.seed) {
    on('seed', seed);
    check(() => {
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed ${seed} must be a non-negative integer`);
    });
  }
  return { problems, bad };
}

function badKey(axis: AxisName, value: string): string {
  return `${axis}=${value}`;
}

/** Expands and checks a spec; every problem (unknown names, impossible combinations, missing data) is listed at once. */
export function planMatrix(spec: MatrixSpec, options: PlanOptions): MatrixPlan {
  const problems = new Set<string>(options.earlierProblems);
  const root = resolve(options.runsDir, spec.name);
  const teachers = new Map<string, MatrixCell>();
  const cells: MatrixCell[] = [];
  const seen = new Set<string>();
  const factsCache = new Map<string, ModelFacts | undefined>();
  const factsFor = (arch: string, dataset: string) => {
    const key = `${arch}/${dataset}`;
    if (!factsCache.has(key)) {
      try {
        factsCache.set(key, options.modelFacts?.(arch, dataset));
      } catch (e) {
        problems.add((e as Error).message);
        factsCache.set(key, undefined);
      }
    }
    return factsCache.get(key);
  };
  /** A dataset's folder must exist under the data directory (the built-in set has none). */
  const warnings: string[] = [];
  const teacherCheck: TeacherCheck | undefined = spec.teacherMinTop1 !== undefined || spec.weakTeacher !== undefined
    ? { minTop1: spec.teacherMinTop1, action: spec.weakTeacher } : undefined;
  const checkData = (dataset: string) => {
    try {
      const ds = datasetSpec(dataset);
      if (ds.folder !== null) datasetFolder(options.dataDir, ds.folder, dataset);
    } catch (e) {
      if (options.missingData === 'warn') warnings.push(`${(e as Error).message}; a real run needs it`);
      else problems.add((e as Error).message);
    }
  };
  const splitSizes = (dataset: string) => datasetSpec(dataset).splitSizes;

  const teacherFor = (dataset: string, arch: string): { ref: string; path: string; id?: string } | null => {
    const given = spec.teachers?.[`${dataset}/${arch}`];
    if (given !== undefined) {
      const path = resolve(given);
      if (!existsSync(path)) {
        problems.add(`teacher checkpoint for ${dataset}/${arch} not found: ${path}`);
        return null;
      }
      return { ref: `file:${path}`, path };
    }
    const seed = spec.teacherSeed ?? 1;
    const request: TrainRequest = {
      dataset, arch, quantizer: 'none', method: 'ce', recipe: spec.recipe, epochs: spec.teacherEpochs,
      batchSize: spec.batchSize, seed, trainImages: spec.trainImages,
    };
    let config: TrainConfig;
    try {
      config = resolveScaled(request, spec.epochsScale);
    } catch (e) {
      problems.add(`teacher ${dataset}/${arch}: ${(e as Error).message}`);
      return null;
    }
    const id = teacherCellId(config);
    if (!teachers.has(id)) {
      const facts = factsFor(arch, dataset);
      const size = splitSizes(dataset);
      teachers.set(id, {
        id, kind: 'teacher', axes: { dataset, arch, seed: String(seed) }, config, dependsOn: [],
        ...estimateCost(config, facts, size.train, size.test, false),
      });
    }
    return { ref: `cell:${id}`, path: teacherCellPath(id), id };
  };

  // Each bad axis value is reported once, not once per cell it would make; the cells it would make are not
  // resolved, but every other cell is, so one pass lists every problem of the spec.
  const badValues = spec.grids.map((grid, i) => {
    const { problems: found, bad } = axisValueProblems(grid, spec.grids.length > 1 ? `grids[${i}]` : 'grid');
    found.forEach((p) => problems.add(p));
    return bad;
  });
  for (const dataset of new Set(spec.grids.flatMap((g) => g.dataset))) {
    if (Object.hasOwn(DATASETS, dataset)) checkData(dataset);
  }

  for (const [g, grid] of spec.grids.entries()) {
    for (const axes of combinations(grid)) {
      if (AXES.some((axis) => badValues[g].has(badKey(axis, axes[axis])))) continue;
      if (excluded(spec, axes)) continue;
      const where = Object.values(axes).join(' ');
      const method = parseMethodValue(axes.method);
      const bits = parseBits(axes.bits);
      const quantizer = parseQuantizerValue(axes.quantizer);
      const teacher = teacherFor(axes.dataset, axes.arch);
      if (!teacher) continue;
      let config: TrainConfig;
      try {
        config = resolveScaled({
          dataset: axes.dataset, arch: axes.arch, ...quantizer, ...bits, method: method.name,
          labelFree: method.labelFree || undefined, teacher: teacher.path, recipe: spec.recipe, epochs: spec.epochs,
          batchSize: spec.batchSize, seed: Number(axes.seed), alpha: spec.alpha, temperature: spec.temperature,
          trainImages: spec.trainImages, methodOptions: spec.methodOptions?.[method.name],
          preEpochs: trainingMethod(method.name).preEpochs > 0 ? spec.preEpochs : undefined,
        }, spec.epochsScale);
      } catch (e) {
        problems.add(`${where}: ${(e as Error).message}`);
        continue;
      }
      const facts = factsFor(axes.arch, axes.dataset);
      if (facts) {
        try {
          trainingMethod(method.name).tapsRead(facts.tapNames);
        } catch (e) {
          problems.add(`${where}: ${(e as Error).message}`);
          continue;
        }
      }
      const slug = `${method.name}${method.labelFree ? '-lf' : ''}-${axes.quantizer.replace(':', '-')}-${axes.bits.toLowerCase()}-${axes.arch}-${axes.dataset}-s${axes.seed}`;
      const id = `${slug}-${shortHash({ ...config, teacher: teacher.ref })}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const size = splitSizes(axes.dataset);
      cells.push({
        id, kind: 'student', axes, config, dependsOn: teacher.id ? [teacher.id] : [],
        ...estimateCost(config, facts, size.train, size.test, trainingMethod(method.name).needsTeacher),
        ...(teacherCheck ? { teacherCheck } : {}),
      });
    }
  }
  const sweeps = spec.landscape ? landscapeJobs(spec.landscape, cells, factsFor, problems) : [];
  if (problems.size) throw new MatrixSpecError([...problems], spec.name);
  return { name: spec.name, root, cells: [...teachers.values(), ...cells, ...sweeps], warnings };
}
