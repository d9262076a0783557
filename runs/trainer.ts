// The trainer for teachers (full precision) and students (quantized): data, models, optimizers and schedule from
// a resolved TrainConfig; an evaluation, a checkpoint and a log line after every epoch; result.json at the end.
// A run whose output folder already holds a checkpoint of the same configuration resumes after its last finished
// epoch, and continues exactly as an uninterrupted run would (data order and augmentation depend only on the seed
// and the epoch; dropout on the seed, epoch and step; all state is in the checkpoint).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import type { ImageSet } from '../datasets/imageSet.ts';
import { DataLoader } from '../datasets/loader.ts';
import { type DatasetSpec, datasetSpec } from '../datasets/registry.ts';
import type { TrainingMethod } from '../methods/method.ts';
import { EwgsQuantizer } from '../methods/quantizers/ewgs.ts';
import { updateEwgsDeltas } from '../methods/quantizers/hessianDelta.ts';
import { trainingMethod } from '../methods/registry.ts';
import type { Classifier } from '../models/classifier.ts';
import { deriveSeed, setDropoutSeed } from '../models/nn/index.ts';
import type { NamedParameter } from '../models/nn/module.ts';
import { calibrateQuantizers, quantizeModel } from '../models/quantize.ts';
import { createModel } from '../models/registry.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { canonicalJson } from './canonicalJson.ts';
import { type Checkpoint, loadCheckpoint, loadModelTensors, modelTensors, saveCheckpoint } from './checkpoint.ts';
import { evaluate } from './evaluate.ts';
import { Adam } from './optim/adam.ts';
import type { Optimizer } from './optim/optimizer.ts';
import { learningRateAt } from './optim/schedule.ts';
import { Sgd } from './optim/sgd.ts';
import { ProgressBar } from './progress.ts';
import type { OptimizerSpec } from './recipes.ts';
import {
  type CheckpointMeta, describeCheckpoint, disposeTensors, type EpochRecord, modelFromCheckpoint,
} from './trainedModel.ts';
import { quantizationSpec, type TrainConfig } from './trainConfig.ts';
import { trainingStep } from './trainingStep.ts';

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
  history: EpochRecord[];
}

export interface RunPlace {
  out: string;
  dataDir: string;
  backend: string;
  /** Progress lines (stderr by default); null for silence. */
  progress?: NodeJS.WriteStream | null;
  /** One-line notes (stdout by default). */
  log?: (line: string) => void;
}

const CHECKPOINT = 'checkpoint.ckpt';

function createOptimizer(spec: OptimizerSpec, params: NamedParameter[]): Optimizer {
  return spec.kind === 'sgd'
    ? new Sgd(params, { lr: spec.lr, momentum: spec.momentum, nesterov: spec.nesterov, weightDecay: spec.weightDecay })
    : new Adam(params, { lr: spec.lr, weightDecay: spec.weightDecay });
}

/** One optimizer for everything, or the model's and the quantizers' (SPEC section 2). */
function createOptimizers(model: Classifier, config: TrainConfig): Array<{ optimizer: Optimizer; base: number }> {
  const params = model.namedParameters();
  const { phase } = config;
  if (phase.quantizer === 'model') return [{ optimizer: createOptimizer(phase.model, params), base: phase.model.lr }];
  const quantizerParams = params.filter((p) => p.group === 'quantizer');
  const groups = [{ optimizer: createOptimizer(phase.model, params.filter((p) => p.group === 'model')), base: phase.model.lr }];
  if (quantizerParams.length) groups.push({ optimizer: createOptimizer(phase.quantizer, quantizerParams), base: phase.quantizer.lr });
  return groups;
}

function optimizerTensors(groups: Array<{ optimizer: Optimizer }>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  groups.forEach(({ optimizer }, i) => {
    for (const [slot, value] of optimizer.state().slots) out.set(`optimizer/${i}/${slot}`, value);
  });
  return out;
}

function restoreOptimizers(groups: Array<{ optimizer: Optimizer }>, checkpoint: Checkpoint<CheckpointMeta>): void {
  groups.forEach(({ optimizer }, i) => {
    const prefix = `optimizer/${i}/`;
    const slots = new Map([...checkpoint.tensors].filter(([name]) => name.startsWith(prefix))
      .map(([name, t]) => [name.slice(prefix.length), t]));
    optimizer.restore({ step: checkpoint.meta.optimizerSteps[i] ?? 0, slots });
  });
}

/** The teacher: a trained model of the same architecture and classes, frozen in evaluation mode. */
function loadTeacher(path: string, config: TrainConfig, spec: DatasetSpec): { model: Classifier; checkpoint: Checkpoint<CheckpointMeta> } {
  const checkpoint = loadCheckpoint<CheckpointMeta>(path);
  const meta = checkpoint.meta;
  if (meta?.format !== 1) throw new Error(`teacher ${path} is not a trained-model checkpoint`);
  if (meta.config.arch !== config.arch || meta.input.classes !== spec.classes) {
    throw new Error(`teacher ${path} holds ${describeCheckpoint(meta)}, but the student is a ${config.arch} for ` +
      `${config.dataset}: SQAKD's student starts from its teacher's weights, so both must match`);
  }
  return { model: modelFromCheckpoint(checkpoint, path).eval(), checkpoint };
}

/** SPEC section 1: the EWGS paper re-estimates delta every 10 epochs. */
const HESSIAN_EVERY = 10;
const HESSIAN_BATCHES = 2;

/** Sets EWGS deltas from Hessian-trace estimates on the first batches of the epoch; returns them by path. */
function estimateDeltas(student: Classifier, teacher: Classifier | null, method: TrainingMethod, config: TrainConfig,
  loader: DataLoader, epoch: number): Record<string, number> {
  const batches = [...takeBatches(loader.epoch(epoch), HESSIAN_BATCHES)];
  try {
    const losses = batches.map((batch) => () => {
      const teacherOutput = teacher ? teacher.forwardWithFeatures(batch.x) : undefined;
      return method.loss({ student: student.forwardWithFeatures(batch.x), teacher: teacherOutput, labels: batch.labels },
        config.settings);
    });
    const estimates = updateEwgsDeltas(student, losses, { samples: 2, epsilon: 1e-3, seed: deriveSeed(config.seed, `hessian:${epoch}`) });
    return Object.fromEntries(estimates.map((e) => [e.path, e.delta]));
  } finally {
    for (const b of batches) tf.dispose([b.x, ...(b.labels ? [b.labels] : [])]);
  }
}

function* takeBatches<T>(source: Generator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const next = source.next();
    if (next.done) return;
    yield next.value;
  }
  source.return(undefined);
}

function setDeltas(model: Classifier, deltas: Record<string, number>): void {
  for (const [path, m] of model.namedModules()) if (m instanceof EwgsQuantizer && path in deltas) m.delta = deltas[path];
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** Trains (or resumes, or returns the finished result of) the run in `place.out`. */
export function runTraining(config: TrainConfig, place: RunPlace): RunResult {
  const log = place.log ?? ((line: string) => console.log(line));
  const progressStream = place.progress === undefined ? process.stderr : place.progress;
  const spec = datasetSpec(config.dataset);
  const method = trainingMethod(config.method);
  const trainSet: ImageSet = spec.load(place.dataDir, 'train');
  const testSet: ImageSet = spec.load(place.dataDir, 'test');

  mkdirSync(place.out, { recursive: true });
  const checkpointPath = join(place.out, CHECKPOINT);
  const resume = existsSync(checkpointPath) ? loadCheckpoint<CheckpointMeta>(checkpointPath) : undefined;
  if (resume && canonicalJson(resume.meta.config) !== canonicalJson(config)) {
    disposeTensors(resume.tensors);
    throw new Error(`${place.out} holds a run with another configuration (${describeCheckpoint(resume.meta)}); ` +
      'use another --out, or delete that folder to start over');
  }
  const resultPath = join(place.out, 'result.json');
  if (resume && resume.meta.epochsDone >= config.phase.epochs && existsSync(resultPath)) {
    disposeTensors(resume.tensors);
    log(`${place.out}: already finished (${resume.meta.epochsDone} epochs)`);
    return JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
  }
  writeFileAtomic(join(place.out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

  const student = createModel(config.arch, { classes: spec.classes, inChannels: spec.channels, seed: config.seed });
  let teacher: Classifier | null = null;
  let teacherTop1: number | null = null;
  if (config.teacher) {
    const loaded = loadTeacher(config.teacher, config, spec);
    teacher = loaded.model;
    teacherTop1 = loaded.checkpoint.meta.history.at(-1)?.top1 ?? null;
    // SPEC section 1: the student starts from the teacher's weights.
    if (!resume) loadModelTensors(student, loaded.checkpoint.tensors, { partial: true, describe: config.teacher });
    disposeTensors(loaded.checkpoint.tensors);
  }
  if (config.quantization) quantizeModel(student, quantizationSpec(config.quantization));
  student.train();
  const groups = createOptimizers(student, config);

  const loaderFor = (withLabels: boolean) => new DataLoader(trainSet, spec, {
    batchSize: config.phase.batchSize, shuffle: true, seed: config.seed, augment: true, withLabels,
  });
  let history: EpochRecord[] = [];
  let ewgsDeltas: Record<string, number> | undefined;
  if (resume) {
    loadModelTensors(student, resume.tensors, { describe: checkpointPath });
    restoreOptimizers(groups, resume);
    history = resume.meta.history;
    ewgsDeltas = resume.meta.ewgsDeltas;
    if (ewgsDeltas) setDeltas(student, ewgsDeltas);
    disposeTensors(resume.tensors);
    // The log is rebuilt from the checkpoint, so epochs logged after it was written are not repeated.
    writeFileAtomic(join(place.out, 'log.jsonl'), history.map((h) => `${JSON.stringify(h)}\n`).join(''));
    log(`${place.out}: resuming after epoch ${history.length} of ${config.phase.epochs}`);
  } else {
    writeFileAtomic(join(place.out, 'log.jsonl'), '');
    if (config.quantization) {
      // SPEC section 2: quantizers start from statistics of the first training batch.
      const first = loaderFor(false).epoch(0).next().value;
      if (first) {
        calibrateQuantizers(student, first.x);
        first.x.dispose();
      }
    }
  }

  const loader = loaderFor(method.needsLabels);
  const steps = loader.batchesPerEpoch();
  const models = { student, teacher, method, settings: config.settings, optimizers: groups.map((g) => g.optimizer) };
  const { phase } = config;
  const hessian = config.quantization?.ewgsDelta === 'hessian';
  try {
    for (let epoch = history.length; epoch < phase.epochs; epoch++) {
      if (hessian && epoch % HESSIAN_EVERY === 0) {
        ewgsDeltas = estimateDeltas(student, teacher, method, config, loader, epoch);
        const values = Object.values(ewgsDeltas);
        log(`epoch ${epoch + 1}: EWGS delta from the Hessian trace, mean ${mean(values).toExponential(2)} over ${values.length} quantizers`);
      }
      const start = performance.now();
      const progress = progressStream ? new ProgressBar(`epoch ${epoch + 1}/${phase.epochs}`, steps, progressStream) : null;
      let lossSum = 0;
      let images = 0;
      let lr = 0;
      let step = 0;
      for (const batch of loader.epoch(epoch)) {
        for (const g of groups) {
          g.optimizer.learningRate = learningRateAt(phase.schedule, g.base, epoch, step, phase.epochs, steps);
        }
        lr = groups[0].optimizer.learningRate;
        setDropoutSeed(student, deriveSeed(config.seed, `${epoch}:${step}`));
        const loss = trainingStep(models, batch);
        tf.dispose([batch.x, ...(batch.labels ? [batch.labels] : [])]);
        if (!Number.isFinite(loss)) {
          throw new Error(`loss is ${loss} at epoch ${epoch + 1}, step ${step + 1} (lr ${lr.toPrecision(3)}): training ` +
            `stopped; ${history.length ? `the checkpoint after epoch ${history.length} is intact` : 'nothing was saved'}`);
        }
        lossSum += loss * batch.indices.length;
        images += batch.indices.length;
        step++;
        progress?.update(step, { loss: lossSum / images, imagesPerSecond: images / ((performance.now() - start) / 1000) });
      }
      const trainSeconds = (performance.now() - start) / 1000;
      const accuracy = evaluate(student, testSet, spec);
      const record: EpochRecord = {
        epoch: epoch + 1, lr, trainLoss: lossSum / images, top1: accuracy.top1, top5: accuracy.top5,
        imagesPerSecond: images / trainSeconds, seconds: (performance.now() - start) / 1000,
      };
      history.push(record);
      progress?.finish(`loss ${record.trainLoss.toFixed(4)}, top-1 ${record.top1.toFixed(2)}%, ` +
        `${Math.round(record.imagesPerSecond)} img/s, ${record.seconds.toFixed(1)} s`);
      const meta: CheckpointMeta = {
        format: 1, config, input: { classes: spec.classes, channels: spec.channels, height: spec.height, width: spec.width },
        epochsDone: epoch + 1, history, optimizerSteps: groups.map((g) => g.optimizer.state().step), teacherTop1,
        backend: place.backend, ewgsDeltas,
      };
      saveCheckpoint(checkpointPath, meta, new Map([...modelTensors(student), ...optimizerTensors(groups)]));
      appendFileSync(join(place.out, 'log.jsonl'), `${JSON.stringify(record)}\n`);
    }
  } finally {
    student.dispose();
    teacher?.dispose();
    for (const g of groups) g.optimizer.dispose();
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
    labelsUsed: method.needsLabels,
    imagesPerSecond: mean(history.map((h) => h.imagesPerSecond)),
    wallSeconds: history.reduce((s, h) => s + h.seconds, 0),
    backend: place.backend,
    seed: config.seed,
    config,
    history,
  };
  writeFileAtomic(resultPath, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
