// The trainer for teachers (full precision) and students (quantized): data, models, method, optimizers and
// schedule from a resolved TrainConfig; an evaluation, a checkpoint and a log line after every epoch; result.json at
// the end. A feature method's pre-stage (FSP, FT) runs first, for its own epochs. A run whose output folder already
// holds a checkpoint of the same configuration resumes after its last finished epoch and continues exactly as an
// uninterrupted run would: data order and augmentation depend only on the seed and the epoch, dropout on the seed,
// epoch and step, and all state (model, distiller, optimizers, progress) is in the checkpoint. A folder holding
// another run's files or a user's is refused (outputFolder.ts); a resume under another numeric environment too,
// unless allowed, and then recorded (runEnvironment.ts).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import { firstImages, type ImageSet } from '../datasets/imageSet.ts';
import { DataLoader } from '../datasets/loader.ts';
import { datasetSpec } from '../datasets/registry.ts';
import { type BackendName, numericEnvironment, type NumericEnvironment } from '../engine/index.ts';
import type { FeatureDistiller } from '../methods/distiller.ts';
import { type LossInputs, readsLabels } from '../methods/method.ts';
import { trainingMethod } from '../methods/registry.ts';
import {
  type LossBreakdown, type LossTermName, lossWeights, trainingLoss, trainingLossTerms,
} from '../methods/trainingLoss.ts';
import type { Classifier } from '../models/classifier.ts';
import { deriveSeed, setDropoutSeed } from '../models/nn/index.ts';
import { calibrateQuantizers, quantizeModel } from '../models/quantize.ts';
import { createModel } from '../models/registry.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import {
  type Checkpoint, loadCheckpoint, loadModelTensors, modelTensors, readCheckpointMeta, saveCheckpoint,
} from './checkpoint.ts';
import { createDistiller, featureParameters } from './distillation.ts';
import { evaluate } from './evaluate.ts';
import { estimateDeltas, HESSIAN_EVERY, setDeltas } from './ewgsDeltas.ts';
import { learningRateAt } from './optim/schedule.ts';
import { claimOutputFolder } from './outputFolder.ts';
import { type Provenance, runProvenance } from './provenance.ts';
import { quantizerSummary } from './quantizerSummary.ts';
import {
  createOptimizerGroups, disposeGroups, type OptimizerGroup, optimizerTensors, restoreOptimizerGroups,
} from './optimizerGroups.ts';
import { type ProgressSink, progressSinkFor } from './progress.ts';
import { RUN_FILES, runFolderJudge } from './runFolder.ts';
import { refusedOnError, RunRefusedError } from './runRefused.ts';
import { type EnvironmentChange, environmentDifference } from './runEnvironment.ts';
import { checkTeacher, type TeacherCheck } from './teacherCheck.ts';
import {
  type CheckpointMeta, describeCheckpoint, disposeTensors, type EpochLoss, type EpochRecord, modelFromCheckpoint,
} from './trainedModel.ts';
import { quantizationSpec, type TrainConfig } from './trainConfig.ts';
import { NonFiniteGradientError, trainingStepWithTerms } from './trainingStep.ts';

/** result.json: the fields DESIGN's contract lists, and the resolved configuration. */
export interface RunResult {
  method: string;
  quantizer: string;
  arch: string;
  dataset: string;
  wBits: number;
  aBits: number;
  epochs: number;
  top1: number;
  top1Best: number;
  top5: number;
  teacherTop1: number | null;
  labelsUsed: boolean;
  imagesPerSecond: number;
  wallSeconds: number;
  backend: string;
  seed: number;
  config: TrainConfig;
  /** Where the numbers came from: backend, device, threads, BLAS, library (the last, if it changed). */
  environment: NumericEnvironment;
  /** Resumes that continued under another environment (--allow-env-change); absent when there were none. */
  environmentChanges?: EnvironmentChange[];
  /** Code, versions, machine and times of the run (absent in results written before it was recorded). */
  provenance?: Provenance;
  /** Findings about the run that do not stop it (a weak teacher); absent when there are none. */
  warnings?: string[];
  history: EpochRecord[];
}

export interface RunPlace {
  out: string;
  dataDir: string;
  backend: string;
  /** Where progress goes: a stream gets the terminal bar (stderr by default), a sink the reports; null for silence. */
  progress?: NodeJS.WriteStream | ProgressSink | null;
  /** One-line notes (stdout by default). */
  log?: (line: string) => void;
  /** Called after every training step (a matrix worker checks there that its runner is still alive). */
  afterStep?: () => void;
  /** Move whatever the folder holds into replaced-<time>/ and start afresh (--force). */
  force?: boolean;
  /** Resume a checkpoint written under another numeric environment, recording the change (--allow-env-change). */
  allowEnvChange?: boolean;
  /** Files and patterns of the caller's own in the folder (a matrix cell's definition, lock and log). */
  companionFiles?: readonly (string | RegExp)[];
  /**
   * The weak-teacher check (teacherCheck.ts): a teacher whose top-1 is below minTop1 (default 2x chance) gets a
   * warning, or with action 'error' the run is refused before training. Not part of the run's configuration.
   */
  teacherCheck?: TeacherCheck;
}

/** The teacher: a trained model of the same architecture and classes, frozen in evaluation mode. */
function loadTeacher(path: string, config: TrainConfig, classes: number): { model: Classifier; checkpoint: Checkpoint<CheckpointMeta> } {
  const checkpoint = loadCheckpoint<CheckpointMeta>(path);
  const meta = checkpoint.meta;
  if (meta?.format !== 1) throw new Error(`teacher ${path} is not a trained-model checkpoint`);
  if (meta.config.arch !== config.arch || meta.input.classes !== classes) {
    disposeTensors(checkpoint.tensors);
    throw new Error(`teacher ${path} holds ${describeCheckpoint(meta)}, but the student is a ${config.arch} for ` +
      `${config.dataset}: SQAKD's student starts from its teacher's weights, so both must match`);
  }
  return { model: modelFromCheckpoint(checkpoint, path).eval(), checkpoint };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** The log's names for a phase's optimizers (createOptimizerGroups: the model's, then the quantizers' if apart). */
function optimizerNames(groups: OptimizerGroup[]): string[] {
  return groups.map((_, i) => (i === 0 ? 'model' : 'quantizer'));
}

interface EpochPlan {
  label: string;
  stage: 'pre' | 'main';
  epoch: number;
  epochs: number;
  groups: OptimizerGroup[];
  loss: (inputs: LossInputs) => LossBreakdown;
  /** The weight of each of the loss's terms, for the log. */
  weights: Record<LossTermName, number>;
  /** Whether the learning rate follows the phase's schedule (the pre-stage keeps the base rate). */
  scheduled: boolean;
}

/** Trains (or resumes, or returns the finished result of) the run in `place.out`. */
export function runTraining(config: TrainConfig, place: RunPlace): RunResult {
  const log = place.log ?? ((line: string) => console.log(line));
  const progressSink = progressSinkFor(place.progress);
  const spec = datasetSpec(config.dataset);
  const method = trainingMethod(config.method);
  const { phase, settings } = config;
  const trainSet: ImageSet = refusedOnError(() => firstImages(spec.load(place.dataDir, 'train'), config.trainImages));
  const testSet: ImageSet = refusedOnError(() => spec.load(place.dataDir, 'test'));

  const checkpointPath = join(place.out, RUN_FILES.checkpoint);
  const resultPath = join(place.out, RUN_FILES.result);
  claimOutputFolder(place.out, runFolderJudge(place.out, config, place.companionFiles),
    { force: place.force, elsewhere: 'another --out', log });
  if (!existsSync(checkpointPath) && existsSync(resultPath)) {
    // The run's own result without its checkpoint (deleted to save space): the run is done, and nothing of it is
    // lost by reporting it again.
    log(`${place.out}: already finished (its checkpoint was removed; --force trains it again)`);
    return JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
  }
  const environment = numericEnvironment(place.backend as BackendName);
  const resume = existsSync(checkpointPath) ? loadCheckpoint<CheckpointMeta>(checkpointPath) : undefined;
  // claimOutputFolder refused a checkpoint of another configuration: one found here is this run's.
  if (resume && resume.meta.epochsDone >= phase.epochs && existsSync(resultPath)) {
    disposeTensors(resume.tensors);
    log(`${place.out}: already finished (${resume.meta.epochsDone} epochs)`);
    return JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
  }
  const attemptStartedAt = new Date().toISOString();
  const startedAt = resume ? resume.meta.startedAt ?? attemptStartedAt : attemptStartedAt;
  // Checked before anything is trained or written, from the teacher's metadata alone.
  let warnings: string[];
  try {
    const teacherMeta = config.teacher ? refusedOnError(() => readCheckpointMeta<CheckpointMeta>(config.teacher!)) : undefined;
    const weak = checkTeacher(teacherMeta?.history.at(-1)?.top1 ?? null, spec.classes, place.teacherCheck);
    warnings = weak ? [weak] : [];
  } catch (e) {
    if (resume) disposeTensors(resume.tensors);
    throw e;
  }
  for (const warning of warnings) log(`${place.out}: ${warning}`);
  const environmentChanges: EnvironmentChange[] = [...(resume?.meta.environmentChanges ?? [])];
  if (resume?.meta.environment) {
    const difference = environmentDifference(resume.meta.environment, environment);
    if (difference && !place.allowEnvChange) {
      disposeTensors(resume.tensors);
      throw new RunRefusedError(`${place.out} was trained under another numeric environment (${difference}); resumed here it ` +
        'would reproduce neither environment\'s run: resume it as it started (same backend, device, --threads), or ' +
        'pass --allow-env-change to continue and record the change in result.json');
    }
    if (difference) {
      environmentChanges.push({ afterEpochs: resume.meta.epochsDone + (resume.meta.preHistory?.length ?? 0),
        from: resume.meta.environment, to: environment });
      log(`${place.out}: continuing under another numeric environment (${difference}), as allowed; recorded`);
    }
  }

  const student = createModel(config.arch, { classes: spec.classes, inChannels: spec.channels, seed: config.seed });
  let teacher: Classifier | null = null;
  let distiller: FeatureDistiller | null = null;
  const preGroups: OptimizerGroup[] = [];
  const groups: OptimizerGroup[] = [];
  try {
    let teacherTop1: number | null = null;
    if (config.teacher) {
      const loaded = refusedOnError(() => loadTeacher(config.teacher!, config, spec.classes));
      teacher = loaded.model;
      teacherTop1 = loaded.checkpoint.meta.history.at(-1)?.top1 ?? null;
      // SPEC section 1: the student starts from the teacher's weights.
      if (!resume) loadModelTensors(student, loaded.checkpoint.tensors, { partial: true, describe: config.teacher });
      disposeTensors(loaded.checkpoint.tensors);
      // A method that reads no teacher output (CE) only starts from its weights; no forward pass is spent on it.
      if (!method.needsTeacher) {
        teacher.dispose();
        teacher = null;
      }
    }
    if (config.quantization) quantizeModel(student, quantizationSpec(config.quantization));
    student.train();
    distiller = createDistiller(method, settings, student, teacher, [spec.height, spec.width, spec.channels],
      trainSet.count, deriveSeed(config.seed, 'distiller'));

    mkdirSync(place.out, { recursive: true });
    writeFileAtomic(join(place.out, RUN_FILES.config), `${JSON.stringify({ ...config, environment }, null, 2)}\n`);

    // The distiller's heads train with the model's optimizer (SPEC section 3).
    const distillerParams = distiller ? distiller.namedParameters('distiller') : [];
    groups.push(...createOptimizerGroups([...student.namedParameters(), ...distillerParams], phase));
    const preStage = distiller?.preStage ?? null;
    if (preStage && settings.preEpochs > 0) {
      const trains = preStage.trains;
      const trainable = trains === 'student-features' ? featureParameters(student)
        : distillerParams.filter((p) => p.name.startsWith(`distiller.${trains.distillerChild}.`));
      preGroups.push(...createOptimizerGroups(trainable, phase));
    }

    const loaderFor = (withLabels: boolean) => new DataLoader(trainSet, spec, {
      batchSize: phase.batchSize, shuffle: true, seed: config.seed, augment: true, withLabels,
    });
    let history: EpochRecord[] = [];
    let preHistory: EpochRecord[] = [];
    let ewgsDeltas: Record<string, number> | undefined;
    if (resume) {
      loadModelTensors(student, resume.tensors, { describe: checkpointPath });
      if (distiller) loadModelTensors(distiller, resume.tensors, { prefix: 'distiller/', describe: checkpointPath });
      restoreOptimizerGroups(groups, resume, 'optimizer', resume.meta.optimizerSteps);
      if (preGroups.length && resume.meta.preOptimizerSteps) {
        restoreOptimizerGroups(preGroups, resume, 'preOptimizer', resume.meta.preOptimizerSteps);
      }
      history = resume.meta.history;
      preHistory = resume.meta.preHistory ?? [];
      ewgsDeltas = resume.meta.ewgsDeltas;
      if (ewgsDeltas) setDeltas(student, ewgsDeltas);
      disposeTensors(resume.tensors);
      // The log is rebuilt from the checkpoint, so epochs logged after it was written are not repeated.
      writeFileAtomic(join(place.out, RUN_FILES.log), [...preHistory, ...history].map((h) => `${JSON.stringify(h)}\n`).join(''));
      log(`${place.out}: resuming after ${preHistory.length < settings.preEpochs
        ? `pre-stage epoch ${preHistory.length} of ${settings.preEpochs}` : `epoch ${history.length} of ${phase.epochs}`}`);
    } else {
      writeFileAtomic(join(place.out, RUN_FILES.log), '');
      if (config.quantization) {
        // SPEC section 2: quantizers start from statistics of the first training batch.
        const first = loaderFor(false).epoch(0).next().value;
        if (first) {
          calibrateQuantizers(student, first.x);
          first.x.dispose();
        }
      }
    }

    const labels = readsLabels(method, settings);
    const loader = loaderFor(labels);
    const steps = loader.batchesPerEpoch();
    const mainLoss = (inputs: LossInputs) => trainingLossTerms(method, distiller, settings, inputs);
    const mainWeights = lossWeights(method, settings, distiller?.usedInMainStage ?? false);
    // A warning goes on the first record logged after it arose (the log is rebuilt from the records on a resume).
    let pendingWarnings = warnings.filter((w) => ![...preHistory, ...history].some((h) => h.warnings?.includes(w)));
    // Pre-stage epochs draw their data order from their own epoch numbers; the main stage continues after them.
    const preEpochsOffset = preGroups.length ? settings.preEpochs : 0;

    const saveProgress = () => {
      const meta: CheckpointMeta = {
        format: 1, config, input: { classes: spec.classes, channels: spec.channels, height: spec.height, width: spec.width },
        epochsDone: history.length, history, preHistory, optimizerSteps: groups.map((g) => g.optimizer.state().step),
        preOptimizerSteps: preGroups.length ? preGroups.map((g) => g.optimizer.state().step) : undefined,
        teacherTop1, backend: place.backend, ewgsDeltas, environment, startedAt,
        ...(environmentChanges.length ? { environmentChanges } : {}),
      };
      saveCheckpoint(checkpointPath, meta, new Map([
        ...modelTensors(student), ...(distiller ? modelTensors(distiller, 'distiller/') : []),
        ...optimizerTensors(groups, 'optimizer'), ...optimizerTensors(preGroups, 'preOptimizer'),
      ]));
    };

    /** Trains one epoch; returns its record. */
    const runEpoch = (plan: EpochPlan): EpochRecord => {
      const start = performance.now();
      const progress = progressSink?.epoch({ label: plan.label, stage: plan.stage, epoch: plan.epoch, epochs: plan.epochs,
        steps, laterEpochs: plan.stage === 'pre' ? phase.epochs - history.length : 0 });
      let lossSum = 0;
      const termSums: Record<LossTermName, number> = { ce: 0, kl: 0, feature: 0 };
      let images = 0;
      let lr = 0;
      let step = 0;
      for (const batch of loader.epoch(plan.stage === 'pre' ? plan.epoch : preEpochsOffset + plan.epoch)) {
        for (const g of plan.groups) {
          g.optimizer.learningRate = plan.scheduled
            ? learningRateAt(phase.schedule, g.base, plan.epoch, step, plan.epochs, steps) : g.base;
        }
        lr = plan.groups[0].optimizer.learningRate;
        setDropoutSeed(student, deriveSeed(config.seed, `${plan.stage}:${plan.epoch}:${step}`));
        const stopped = (what: string) => {
          const saved = history.length + preHistory.length;
          return new Error(`${what} at ${plan.stage === 'pre' ? 'pre-stage ' : ''}epoch ${plan.epoch + 1}, step ` +
            `${step + 1} (lr ${lr.toPrecision(3)}): training stopped; ${saved ? `the checkpoint after ${saved} epoch(s) ` +
            'is intact' : 'nothing was saved'}`);
        };
        let loss: number;
        try {
          const outcome = trainingStepWithTerms(student, teacher, batch, plan.loss, plan.groups.map((g) => g.optimizer));
          loss = outcome.loss;
          for (const [name, value] of Object.entries(outcome.terms)) termSums[name as LossTermName] += value * batch.indices.length;
        } catch (e) {
          if (e instanceof NonFiniteGradientError) throw stopped(e.message);
          throw e;
        } finally {
          tf.dispose([batch.x, ...(batch.labels ? [batch.labels] : [])]);
        }
        if (!Number.isFinite(loss)) throw stopped(`loss is ${loss}`);
        lossSum += loss * batch.indices.length;
        images += batch.indices.length;
        step++;
        progress?.update(step, { loss: lossSum / images, imagesPerSecond: images / ((performance.now() - start) / 1000) });
        place.afterStep?.();
      }
      const trainSeconds = (performance.now() - start) / 1000;
      const accuracy = evaluate(student, testSet, spec);
      const quantizers = quantizerSummary(student);
      const names = optimizerNames(plan.groups);
      const lossRecord: EpochLoss = {
        ce: termSums.ce / images, kl: termSums.kl / images, feature: termSums.feature / images, total: lossSum / images,
        weights: plan.weights,
      };
      const record: EpochRecord = {
        ...(plan.stage === 'pre' ? { stage: 'pre' as const } : {}),
        epoch: plan.epoch + 1, lr, trainLoss: lossSum / images, top1: accuracy.top1, top5: accuracy.top5,
        imagesPerSecond: images / trainSeconds, seconds: (performance.now() - start) / 1000,
        loss: lossRecord, testLoss: accuracy.loss,
        learningRates: Object.fromEntries(plan.groups.map((g, i) => [names[i], g.optimizer.learningRate])),
        ...(Object.keys(quantizers).length ? { quantizers } : {}),
        ...(pendingWarnings.length ? { warnings: pendingWarnings } : {}),
      };
      pendingWarnings = [];
      progress?.finish(`loss ${record.trainLoss.toFixed(4)}, top-1 ${record.top1.toFixed(2)}%, ` +
        `${Math.round(record.imagesPerSecond)} img/s, ${record.seconds.toFixed(1)} s`);
      return record;
    };

    if (preStage && preGroups.length) {
      // A pre-stage that trains only the distiller (FT's paraphraser) leaves the student as it is, batch-norm
      // statistics included.
      if (preStage.trains !== 'student-features') student.eval();
      for (let epoch = preHistory.length; epoch < settings.preEpochs; epoch++) {
        const record = runEpoch({
          label: `pre-stage ${epoch + 1}/${settings.preEpochs}`, stage: 'pre', epoch, epochs: settings.preEpochs,
          groups: preGroups, loss: (inputs) => {
            const total = preStage.loss({ student: inputs.student, teacher: inputs.teacher!, indices: inputs.indices ?? new Int32Array() });
            return { total, terms: { feature: total } };
          }, weights: { ce: 0, kl: 0, feature: 1 }, scheduled: false,
        });
        preHistory.push(record);
        saveProgress();
        appendFileSync(join(place.out, RUN_FILES.log), `${JSON.stringify(record)}\n`);
      }
      student.train();
    }
    const hessian = config.quantization?.ewgsDelta === 'hessian';
    for (let epoch = history.length; epoch < phase.epochs; epoch++) {
      if (hessian && epoch % HESSIAN_EVERY === 0) {
        ewgsDeltas = estimateDeltas(student, teacher, (inputs) => trainingLoss(method, distiller, settings, inputs),
          distiller, loader, preEpochsOffset + epoch, deriveSeed(config.seed, 'hessian'));
        const values = Object.values(ewgsDeltas);
        log(`epoch ${epoch + 1}: EWGS delta from the Hessian trace, mean ${mean(values).toExponential(2)} over ${values.length} quantizers`);
      }
      const record = runEpoch({
        label: `epoch ${epoch + 1}/${phase.epochs}`, stage: 'main', epoch, epochs: phase.epochs, groups, loss: mainLoss,
        weights: mainWeights, scheduled: true,
      });
      history.push(record);
      saveProgress();
      appendFileSync(join(place.out, RUN_FILES.log), `${JSON.stringify(record)}\n`);
    }

    const last = history.at(-1)!;
    const result: RunResult = {
      method: config.method,
      quantizer: config.quantization?.quantizer ?? 'none',
      arch: config.arch,
      dataset: config.dataset,
      wBits: config.quantization?.wBits ?? 32,
      aBits: config.quantization?.aBits ?? 32,
      epochs: phase.epochs,
      top1: last.top1,
      top1Best: Math.max(...history.map((h) => h.top1)),
      top5: last.top5,
      teacherTop1,
      labelsUsed: labels,
      imagesPerSecond: mean(history.map((h) => h.imagesPerSecond)),
      wallSeconds: [...preHistory, ...history].reduce((s, h) => s + h.seconds, 0),
      backend: place.backend,
      seed: config.seed,
      config,
      environment,
      ...(environmentChanges.length ? { environmentChanges } : {}),
      provenance: runProvenance(environment, {
        startedAt, ...(resume ? { resumedAt: attemptStartedAt } : {}), finishedAt: new Date().toISOString(),
      }),
      ...(warnings.length ? { warnings } : {}),
      history,
    };
    writeFileAtomic(resultPath, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    student.dispose();
    teacher?.dispose();
    distiller?.dispose();
    disposeGroups(groups);
    disposeGroups(preGroups);
  }
}
