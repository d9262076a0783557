// A trained model's checkpoint as a safetensors file other tools can read (Python's safetensors, PyTorch, numpy
// with a few lines), and back into a suite checkpoint that `sqakd eval` and a student's --teacher accept.
//
// What the file holds: the model's tensors only (parameters, batch-norm running statistics, learned quantizer
// parameters such as EWGS `lower`/`upper`/`outputScale`, PACT `alpha`, LSQ `step`), not the optimizers' or a
// distiller's. Each is named by its module path in the model, exactly as the suite's checkpoints name it less the
// `model/` prefix: `stem.0.weight`, `stage1.1.runningMean`, `fc.bias`, `stage2.0.weightQuantizer.lower`. Batch-norm
// statistics keep the suite's names (`runningMean`, `runningVar`), and there is no `num_batches_tracked`.
//
// Layout (metadata `layout`): `tfjs` (the default) stores every tensor as the suite holds it: convolution kernels
// HWIO [kh, kw, in, out], depthwise kernels HWCM [kh, kw, channels, multiplier], linear weights [in, out].
// `pytorch` stores convolution kernels OIHW [out, in, kh, kw], depthwise ones [channels * multiplier, 1, kh, kw]
// and linear weights [out, in], as torch.nn holds them; every other tensor (biases, batch-norm tensors, quantizer
// parameters, per-channel ones included) keeps the suite's shape in either layout. Values are float32 (F32).
//
// Metadata (all strings, as the format requires): format "sqakd-safetensors", formatVersion "1", layout, and the
// checkpoint's description as JSON text: config (the run's TrainConfig), input ({classes, channels, height,
// width}), epochsDone, teacherTop1, history, and where present preHistory, ewgsDeltas, environment,
// environmentChanges and startedAt; backend as plain text; model, a one-line description for people.
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import type { Classifier } from '../models/classifier.ts';
import { Conv2d } from '../models/nn/conv2d.ts';
import { Linear } from '../models/nn/linear.ts';
import { quantizeModel } from '../models/quantize.ts';
import { createModel } from '../models/registry.ts';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.ts';
import { quantizationSpec } from './trainConfig.ts';
import { type CheckpointMeta, describeCheckpoint, disposeTensors, modelFromCheckpoint } from './trainedModel.ts';

export type TensorLayout = 'tfjs' | 'pytorch';
export const TENSOR_LAYOUTS: readonly TensorLayout[] = ['tfjs', 'pytorch'];

export const EXPORT_FORMAT = 'sqakd-safetensors';
export const EXPORT_FORMAT_VERSION = '1';

export interface ExportOptions {
  /** How convolution and linear weights are laid out (default `tfjs`, the suite's own). */
  layout?: TensorLayout;
  /** Replace an existing output file (never the input itself). */
  force?: boolean;
}

export interface ImportOptions {
  /** Replace an existing output file (never the input itself). */
  force?: boolean;
}

export interface ConversionSummary {
  /** The file written. */
  path: string;
  /** Tensors written (the model's, in either direction). */
  tensors: number;
  /** Size of the file written. */
  bytes: number;
  layout: TensorLayout;
  /** One line naming the model, e.g. "a cnn-small for mnist (ewgs W2A2)". */
  model: string;
}

const CHECKPOINT_MAGIC = 'SQAKDCK1';
const MODEL_PREFIX = 'model/';
const LAYOUT_DESCRIPTIONS: Record<TensorLayout, string> = {
  tfjs: 'conv HWIO [kh,kw,in,out], depthwise HWCM [kh,kw,channels,multiplier], linear [in,out]',
  pytorch: 'conv OIHW [out,in,kh,kw], depthwise [channels*multiplier,1,kh,kw], linear [out,in]; other tensors as in tfjs',
};
/** Metadata fields holding a CheckpointMeta field as JSON text, with whether importing needs them. */
const JSON_FIELDS = {
  config: true, input: true, epochsDone: false, teacherTop1: false, history: false, preHistory: false,
  ewgsDeltas: false, environment: false, environmentChanges: false, startedAt: false,
} as const satisfies Partial<Record<keyof CheckpointMeta, boolean>>;
const NEEDED_METADATA = `__metadata__ with format "${EXPORT_FORMAT}", formatVersion "${EXPORT_FORMAT_VERSION}", layout ` +
  `(${TENSOR_LAYOUTS.join(' or ')}), config (the run's configuration as JSON) and input ({classes, channels, height, ` +
  'width} as JSON)';

/** How a weight differs between the layouts; tensors without one are the same in both. */
type WeightKind = { kind: 'conv' } | { kind: 'depthwise'; multiplier: number } | { kind: 'linear' };

/** A transposed copy of row-major `data` of `shape`: output axis i is input axis `perm[i]`. */
export function permuteAxes<T extends Float32Array | Int32Array>(data: T, shape: readonly number[], perm: readonly number[]): { data: T; shape: number[] } {
  const outShape = perm.map((axis) => shape[axis]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((n, d) => n * d, 1));
  const stepOf = perm.map((axis) => inStrides[axis]);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const index = new Array<number>(outShape.length).fill(0);
  let source = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[source];
    // Odometer over the output's indices, moving the source position by the matching input stride.
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      source += stepOf[axis];
      if (++index[axis] < outShape[axis]) break;
      source -= stepOf[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** A suite-layout weight in PyTorch's layout. */
export function toPytorchLayout<T extends Float32Array | Int32Array>(weight: WeightKind, data: T, shape: readonly number[]): { data: T; shape: number[] } {
  if (weight.kind === 'linear') return permuteAxes(data, shape, [1, 0]);
  if (weight.kind === 'conv') return permuteAxes(data, shape, [3, 2, 0, 1]);
  const [h, w, c, m] = shape;
  return { data: permuteAxes(data, shape, [2, 3, 0, 1]).data, shape: [c * m, 1, h, w] };
}

/** A PyTorch-layout weight in the suite's layout; `suiteShape` is the shape the model holds it in. */
export function fromPytorchLayout<T extends Float32Array | Int32Array>(weight: WeightKind, data: T, suiteShape: readonly number[]): { data: T; shape: number[] } {
  if (weight.kind === 'linear') return permuteAxes(data, [suiteShape[1], suiteShape[0]], [1, 0]);
  const [h, w, c, o] = suiteShape;
  if (weight.kind === 'conv') return permuteAxes(data, [o, c, h, w], [2, 3, 1, 0]);
  return permuteAxes(data, [c, weight.multiplier, h, w], [2, 3, 0, 1]);
}

/** The model's convolution and linear weights (the tensors the layouts disagree on), by variable. */
function weightKinds(model: Classifier): Map<tf.Variable, WeightKind> {
  const kinds = new Map<tf.Variable, WeightKind>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof Conv2d) {
      kinds.set(m.weight, m.depthwise ? { kind: 'depthwise', multiplier: m.outChannels / m.inChannels } : { kind: 'conv' });
    } else if (m instanceof Linear) {
      kinds.set(m.weight, { kind: 'linear' });
    }
  }
  return kinds;
}

/** The shape a model tensor has in the given layout. */
function layoutShape(weight: WeightKind | undefined, suiteShape: readonly number[], layout: TensorLayout): number[] {
  if (!weight || layout === 'tfjs') return [...suiteShape];
  if (weight.kind === 'linear') return [suiteShape[1], suiteShape[0]];
  const [h, w, c, o] = suiteShape;
  return weight.kind === 'conv' ? [o, c, h, w] : [c * o, 1, h, w];
}

/** Fails early, before any work, when the output would replace its own input or (without force) any file. */
function checkOutput(input: string, output: string, force: boolean): void {
  if (resolve(input) === resolve(output)) throw new Error(`the output ${output} is the input itself; write to another file`);
  if (!force && existsSync(output)) throw new Error(`${output} already exists (another --out, or --force to replace it)`);
}

/**
 * Writes a file through `write(temporary)` and moves it into place: atomically, and without force never over an
 * existing file, even one that appeared while this was writing (a hard link refuses to replace one).
 */
function commitNewFile(path: string, force: boolean, write: (temporary: string) => void): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    write(temporary);
    if (force) {
      renameSync(temporary, path);
      return;
    }
    try {
      linkSync(temporary, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new Error(`${path} already exists (another --out, or --force to replace it)`);
      // File systems without hard links: the check before renaming is the best left.
      if (existsSync(path)) throw new Error(`${path} already exists (another --out, or --force to replace it)`);
      renameSync(temporary, path);
    }
  } finally {
    rmSync(temporary, { force: true });
  }
}

function writeBytes(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exportMetadata(meta: CheckpointMeta, layout: TensorLayout): Record<string, string> {
  const metadata: Record<string, string> = {
    format: EXPORT_FORMAT, formatVersion: EXPORT_FORMAT_VERSION, layout, layoutDescription: LAYOUT_DESCRIPTIONS[layout],
    model: describeCheckpoint(meta), backend: meta.backend,
  };
  for (const key of Object.keys(JSON_FIELDS) as Array<keyof typeof JSON_FIELDS>) {
    if (meta[key] !== undefined) metadata[key] = JSON.stringify(meta[key]);
  }
  return metadata;
}

/** Writes the model of a suite checkpoint as a safetensors file (needs an initialised tfjs backend). */
export function exportSafetensors(checkpointPath: string, outPath: string, options: ExportOptions = {}): ConversionSummary {
  const layout = options.layout ?? 'tfjs';
  if (!TENSOR_LAYOUTS.includes(layout)) throw new Error(`unknown tensor layout '${layout}' (valid: ${TENSOR_LAYOUTS.join(', ')})`);
  checkOutput(checkpointPath, outPath, options.force ?? false);
  const checkpoint = loadCheckpoint<CheckpointMeta>(checkpointPath);
  let model: Classifier | undefined;
  try {
    const { meta } = checkpoint;
    if (meta?.format !== 1 || !meta.config || !meta.input) {
      throw new Error(`${checkpointPath} is an sqakd checkpoint but not a trained model's (its header has no format 1 config and input)`);
    }
    if (![...checkpoint.tensors.keys()].some((name) => name.startsWith(MODEL_PREFIX))) {
      throw new Error(`${checkpointPath} holds no model tensors (none named ${MODEL_PREFIX}...)`);
    }
    // Building the model checks the checkpoint holds all of it, and tells convolutions from linear layers.
    model = modelFromCheckpoint(checkpoint, checkpointPath);
    const kinds = weightKinds(model);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, variable] of model.stateDict()) {
      const saved = checkpoint.tensors.get(MODEL_PREFIX + name)!;
      if (saved.dtype !== 'float32' && saved.dtype !== 'int32') throw new Error(`${checkpointPath}: tensor ${name} has dtype ${saved.dtype}`);
      const values = saved.dataSync() as Float32Array | Int32Array;
      const kind = kinds.get(variable);
      const { data, shape } = layout === 'pytorch' && kind ? toPytorchLayout(kind, values, saved.shape) : { data: values, shape: saved.shape };
      tensors.set(name, { dtype: saved.dtype === 'float32' ? 'F32' : 'I32', shape, data });
    }
    const bytes = encodeSafetensors(tensors, exportMetadata(meta, layout));
    commitNewFile(outPath, options.force ?? false, (temporary) => writeBytes(temporary, bytes));
    return { path: outPath, tensors: tensors.size, bytes: bytes.length, layout, model: describeCheckpoint(meta) };
  } finally {
    model?.dispose();
    disposeTensors(checkpoint.tensors);
  }
}

function parseJsonField(metadata: Record<string, string>, key: string, path: string): unknown {
  try {
    return JSON.parse(metadata[key]);
  } catch {
    throw new Error(`${path}: metadata ${key} is not JSON (${metadata[key].slice(0, 60)})`);
  }
}

/** The checkpoint metadata a suite export carries; an error saying what is needed when it does not. */
function metaFromMetadata(metadata: Record<string, string>, path: string): { meta: CheckpointMeta; layout: TensorLayout } {
  const lacking = ['format', 'formatVersion', 'layout', 'config', 'input'].filter((key) => metadata[key] === undefined);
  if (lacking.length || metadata.format !== EXPORT_FORMAT) {
    throw new Error(`${path} is not an sqakd safetensors export (its metadata ${lacking.length ? `lacks ${lacking.join(', ')}`
      : `format is ${JSON.stringify(metadata.format)}`}): importing needs ${NEEDED_METADATA}`);
  }
  if (metadata.formatVersion !== EXPORT_FORMAT_VERSION) {
    throw new Error(`${path} has formatVersion ${metadata.formatVersion}; this suite reads version ${EXPORT_FORMAT_VERSION}`);
  }
  const layout = metadata.layout as TensorLayout;
  if (!TENSOR_LAYOUTS.includes(layout)) throw new Error(`${path} has layout ${JSON.stringify(layout)}, not ${TENSOR_LAYOUTS.join(' or ')}`);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(JSON_FIELDS)) {
    if (metadata[key] !== undefined) fields[key] = parseJsonField(metadata, key, path);
  }
  const config = fields.config as CheckpointMeta['config'];
  if (typeof config !== 'object' || config === null || typeof config.arch !== 'string' || typeof config.dataset !== 'string' ||
    typeof config.seed !== 'number' || config.quantization === undefined) {
    throw new Error(`${path}: metadata config is not a run configuration (it needs arch, dataset, seed and quantization)`);
  }
  const input = fields.input as CheckpointMeta['input'];
  if (typeof input !== 'object' || input === null || !(['classes', 'channels', 'height', 'width'] as const)
    .every((k) => Number.isInteger(input[k]) && input[k] > 0)) {
    throw new Error(`${path}: metadata input is not {classes, channels, height, width} of positive integers`);
  }
  const meta: CheckpointMeta = {
    format: 1, config, input, epochsDone: (fields.epochsDone as number | undefined) ?? 0,
    history: (fields.history as CheckpointMeta['history'] | undefined) ?? [],
    // The optimizers' state is not exported: an imported model evaluates and teaches, and training it starts afresh.
    optimizerSteps: [],
    teacherTop1: (fields.teacherTop1 as number | null | undefined) ?? null,
    backend: metadata.backend ?? 'unknown',
  };
  for (const key of ['preHistory', 'ewgsDeltas', 'environment', 'environmentChanges', 'startedAt'] as const) {
    if (fields[key] !== undefined) Object.assign(meta, { [key]: fields[key] });
  }
  return { meta, layout };
}

/** Builds the (quantized) model a configuration describes, with its initial weights: the names and shapes to expect. */
function skeleton(meta: CheckpointMeta): Classifier {
  const model = createModel(meta.config.arch, { classes: meta.input.classes, inChannels: meta.input.channels, seed: meta.config.seed });
  if (meta.config.quantization) quantizeModel(model, quantizationSpec(meta.config.quantization));
  return model;
}

/**
 * Writes a suite checkpoint from a safetensors file exported by the suite (or any file with its metadata and the
 * model's tensor names); `loadTrainedModel` and `sqakd eval` accept the result. Needs an initialised tfjs backend.
 */
export function importSafetensors(safetensorsPath: string, outCheckpointPath: string, options: ImportOptions = {}): ConversionSummary {
  checkOutput(safetensorsPath, outCheckpointPath, options.force ?? false);
  let bytes: Buffer;
  try {
    bytes = readFileSync(safetensorsPath);
  } catch {
    throw new Error(`safetensors file ${safetensorsPath} does not exist or cannot be read`);
  }
  if (bytes.length >= 8 && bytes.toString('latin1', 0, 8) === CHECKPOINT_MAGIC) {
    throw new Error(`${safetensorsPath} is already an sqakd checkpoint, not a safetensors file`);
  }
  const { tensors: stored, metadata } = decodeSafetensors(bytes, safetensorsPath);
  const { meta, layout } = metaFromMetadata(metadata, safetensorsPath);
  const model = skeleton(meta);
  const tensors = new Map<string, tf.Tensor>();
  try {
    const kinds = weightKinds(model);
    const state = model.stateDict();
    const foreign = [...stored.keys()].filter((name) => !state.has(name));
    if (foreign.length) {
      throw new Error(`${safetensorsPath} has ${foreign.length} tensors that ${describeCheckpoint(meta)} does not, e.g. ` +
        `${foreign.slice(0, 3).join(', ')}`);
    }
    const missing = [...state.keys()].filter((name) => !stored.has(name));
    if (missing.length) {
      throw new Error(`${safetensorsPath} lacks ${missing.length} of the tensors of ${describeCheckpoint(meta)}, e.g. ` +
        `${missing.slice(0, 3).join(', ')}`);
    }
    for (const [name, variable] of state) {
      const t = stored.get(name)!;
      const kind = kinds.get(variable);
      const expected = layoutShape(kind, variable.shape, layout);
      if (t.shape.join() !== expected.join()) {
        throw new Error(`${safetensorsPath} has ${name} of shape [${t.shape}]; ${describeCheckpoint(meta)} in the ${layout} ` +
          `layout expects [${expected}]`);
      }
      const dtype = t.dtype === 'F32' ? 'float32' : 'int32';
      if (dtype !== variable.dtype) throw new Error(`${safetensorsPath} has ${name} as ${t.dtype}; the model holds it as ${variable.dtype}`);
      const { data } = layout === 'pytorch' && kind ? fromPytorchLayout(kind, t.data, variable.shape) : t;
      tensors.set(MODEL_PREFIX + name, tf.tensor(data, variable.shape, dtype));
    }
    // The checkpoint is checked the way `sqakd eval` will read it before it is written.
    const checkpoint: Checkpoint<CheckpointMeta> = { meta, tensors };
    modelFromCheckpoint(checkpoint, safetensorsPath).dispose();
    commitNewFile(outCheckpointPath, options.force ?? false, (temporary) => saveCheckpoint(temporary, meta, tensors));
    return { path: outCheckpointPath, tensors: tensors.size, bytes: statSync(outCheckpointPath).size, layout, model: describeCheckpoint(meta) };
  } finally {
    model.dispose();
    disposeTensors(tensors);
  }
}
