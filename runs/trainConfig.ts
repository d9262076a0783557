// From what a user asks for (CLI flags, matrix cells) to a complete training configuration: the recipe's
// settings with the user's overrides, validated before anything runs. The resolved config is the run's identity:
// it is stored in checkpoints and result.json, and a resumed run must match it.
import { datasetSpec } from '../datasets/registry.ts';
import { DEFAULT_METHOD_SETTINGS, type MethodSettings } from '../methods/method.ts';
import { checkBits } from '../methods/quantizers/quantizer.ts';
import { QUANTIZERS, quantizerFamily } from '../methods/quantizers/registry.ts';
import { trainingMethod } from '../methods/registry.ts';
import { architectureNames, architectureSpec } from '../models/registry.ts';
import { defaultRecipeName, type PhaseRecipe, recipe as recipeByName, type Recipe } from './recipes.ts';

export const FULL_PRECISION = 'none';

/** What can be asked for; everything is optional but the output folder. */
export interface TrainRequest {
  dataset?: string;
  arch?: string;
  /** 'none' (full precision, the teacher) or a quantizer family. */
  quantizer?: string;
  wBits?: number;
  aBits?: number;
  method?: string;
  teacher?: string;
  recipe?: string;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  lr?: number;
  lrQuantizer?: number;
  alpha?: number;
  gamma?: number;
  beta?: number;
  temperature?: number;
  labelSmoothing?: number;
  /** Feature methods: train without the cross-entropy term (and without labels). */
  labelFree?: boolean;
  /** Pre-stage epochs of FSP / FT. */
  preEpochs?: number;
  /** Method-specific options (e.g. { negatives: 4096 } for CRD). */
  methodOptions?: Record<string, number>;
  fullPrecision?: string[];
  perChannelWeights?: boolean;
  /** EWGS delta: a number, or 'hessian' to set it from Hessian-trace estimates every few epochs. */
  ewgsDelta?: number | 'hessian';
  pactTrainAlpha?: boolean;
  /** Train on the first N training images only (a quick look); the test split stays whole. */
  trainImages?: number;
}

export interface QuantizationConfig {
  quantizer: string;
  wBits: number;
  aBits: number;
  fullPrecision?: string[];
  perChannelWeights: boolean;
  ewgsDelta: number | 'hessian';
  pactTrainAlpha: boolean;
}

/** The quantizers' settings: a fixed EWGS delta is their delta; 'hessian' starts at 0 and is re-estimated. */
export function quantizationSpec(q: QuantizationConfig): QuantizationConfig & { delta: number } {
  return { ...q, delta: q.ewgsDelta === 'hessian' ? 0 : q.ewgsDelta };
}

export interface TrainConfig {
  dataset: string;
  arch: string;
  method: string;
  /** null for a full-precision model. */
  quantization: QuantizationConfig | null;
  /** Checkpoint of the teacher, or null. */
  teacher: string | null;
  recipe: string | null;
  seed: number;
  phase: PhaseRecipe;
  settings: MethodSettings;
  /** Absent when the whole training split is used. */
  trainImages?: number;
}

/** Settings for dataset/architecture pairs without a paper recipe. */
const GENERIC: Recipe = {
  description: 'generic settings (no paper recipe for this dataset and architecture)',
  dataset: '',
  arch: '',
  teacher: {
    epochs: 30, batchSize: 128, schedule: { kind: 'cosine-epoch' }, labelSmoothing: 0, alpha: 1, quantizer: 'model',
    model: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  },
  student: () => ({
    epochs: 30, batchSize: 128, schedule: { kind: 'cosine-epoch' }, labelSmoothing: 0, alpha: 1,
    model: { kind: 'adam', lr: 1e-3, weightDecay: 1e-4 }, quantizer: { kind: 'adam', lr: 1e-5, weightDecay: 0 },
  }),
};

function positive(value: number | undefined, what: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new Error(`${what} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

/**
 * Flags that configure one quantizer family (or quantization at all) are an error with any other, rather than
 * silently doing nothing: a run asked for with them would not be the run the user meant.
 */
function checkQuantizerFlags(request: TrainRequest, quantizer: string): void {
  const not = quantizer === FULL_PRECISION ? 'none (full precision)' : quantizer;
  const anyQuantizer = `quantized models (--quantizer ${Object.keys(QUANTIZERS).join(', ')})`;
  const delta = request.ewgsDelta ?? 0;
  if (delta !== 0 && quantizer !== 'ewgs') throw new Error(`--ewgs-delta applies to the ewgs quantizer, not ${not}`);
  if (request.pactTrainAlpha === false && quantizer !== 'pact') {
    throw new Error(`--pact-fixed-alpha applies to the pact quantizer, not ${not}`);
  }
  if (quantizer !== FULL_PRECISION) return;
  if (request.perChannelWeights) throw new Error(`--per-channel applies to ${anyQuantizer}, not ${not}`);
  if (request.fullPrecision) throw new Error(`--fp-layers applies to ${anyQuantizer}, not ${not}`);
  if (request.lrQuantizer !== undefined) throw new Error(`--lr-quantizer applies to ${anyQuantizer}, not ${not}`);
}

/** Resolves and validates a request; every problem is a one-line error naming what is wrong and what is valid. */
export function resolveTrainConfig(request: TrainRequest): TrainConfig {
  const named = request.recipe ? recipeByName(request.recipe) : undefined;
  const dataset = request.dataset ?? named?.dataset;
  const arch = request.arch ?? named?.arch;
  if (!dataset) throw new Error('no dataset: pass --dataset (or a --recipe that names one)');
  if (!arch) throw new Error(`no architecture: pass --arch (valid: ${architectureNames().join(', ')})`);
  datasetSpec(dataset);
  architectureSpec(arch);

  const bitsGiven = request.wBits !== undefined || request.aBits !== undefined;
  const quantizer = request.quantizer ?? (bitsGiven ? 'ewgs' : FULL_PRECISION);
  let quantization: QuantizationConfig | null = null;
  if (quantizer !== FULL_PRECISION) {
    quantizerFamily(quantizer);
    // Either width defaults to the other; each is checked under its own name.
    const aGiven = request.aBits === undefined ? undefined : checkBits(request.aBits, 'activation bits (--a-bits)');
    const wBits = checkBits(request.wBits ?? aGiven ?? 2, 'weight bits (--w-bits)');
    const aBits = aGiven ?? wBits;
    const delta = request.ewgsDelta ?? 0;
    if (delta !== 'hessian' && !(delta >= 0)) throw new Error(`EWGS delta must be >= 0 or 'hessian', got ${delta}`);
    quantization = {
      quantizer, wBits, aBits, fullPrecision: request.fullPrecision, perChannelWeights: request.perChannelWeights ?? false,
      ewgsDelta: delta, pactTrainAlpha: request.pactTrainAlpha ?? true,
    };
  } else if (bitsGiven) {
    throw new Error('--w-bits/--a-bits given with --quantizer none; choose a quantizer (ewgs, pact, lsq, dorefa)');
  }
  checkQuantizerFlags(request, quantizer);

  const method = trainingMethod(request.method ?? 'ce');
  if (method.needsTeacher && !request.teacher) {
    throw new Error(`method ${method.name} distils from a teacher: pass --teacher <checkpoint of a trained model>`);
  }
  if (request.labelFree && !method.labelFree.possible) {
    throw new Error(`method ${method.name} cannot run label-free: ${method.labelFree.reason}`);
  }
  const unknownOptions = Object.keys(request.methodOptions ?? {}).filter((k) => !(k in method.options));
  if (unknownOptions.length) {
    const valid = Object.keys(method.options);
    throw new Error(`method ${method.name} has no option ${unknownOptions.join(', ')} ` +
      `(${valid.length ? `valid: ${valid.join(', ')}` : 'it takes none'})`);
  }

  const recipeName = request.recipe ?? defaultRecipeName(dataset, arch) ?? null;
  const base = recipeName ? recipeByName(recipeName) : GENERIC;
  const phase = quantization ? base.student(quantization.quantizer, quantization.wBits, quantization.aBits) : base.teacher;
  const overridden: PhaseRecipe = {
    ...phase,
    epochs: positive(request.epochs, '--epochs', true) ?? phase.epochs,
    batchSize: positive(request.batchSize, '--batch-size', true) ?? phase.batchSize,
    model: { ...phase.model, lr: positive(request.lr, '--lr') ?? phase.model.lr },
    quantizer: phase.quantizer === 'model' ? 'model'
      : { ...phase.quantizer, lr: positive(request.lrQuantizer, '--lr-quantizer') ?? phase.quantizer.lr },
  };
  const seed = request.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  const preEpochs = request.preEpochs ?? method.preEpochs;
  if (!Number.isInteger(preEpochs) || preEpochs < 0) throw new Error(`--pre-epochs must be a non-negative integer, got ${preEpochs}`);
  const settings: MethodSettings = {
    // SPEC section 3: feature methods run with CE weight 1 and KL weight 0 unless asked otherwise.
    alpha: request.alpha ?? (method.kind === 'feature' ? 0 : phase.alpha ?? DEFAULT_METHOD_SETTINGS.alpha),
    gamma: request.gamma ?? DEFAULT_METHOD_SETTINGS.gamma,
    beta: request.beta ?? method.beta,
    temperature: positive(request.temperature, '--temperature') ?? DEFAULT_METHOD_SETTINGS.temperature,
    labelSmoothing: request.labelSmoothing ?? phase.labelSmoothing,
    labelFree: method.kind === 'feature' ? request.labelFree ?? false : !method.needsLabels,
    preEpochs,
    options: { ...method.options, ...request.methodOptions },
  };
  return {
    dataset, arch, method: method.name, quantization, teacher: request.teacher ?? null, recipe: recipeName, seed,
    phase: overridden, settings, trainImages: positive(request.trainImages, '--train-images', true),
  };
}

/**
 * A configuration stored by an earlier version of the suite, with the settings added since filled in with the
 * values that version implied (so its checkpoints still resume): before the feature methods, runs had no beta,
 * pre-stage, options or label-free switch.
 */
export function upgradeStoredConfig(stored: TrainConfig): TrainConfig {
  const method = trainingMethod(stored.method);
  const s = stored.settings as Partial<MethodSettings> & Pick<MethodSettings, 'alpha' | 'gamma' | 'temperature' | 'labelSmoothing'>;
  return {
    ...stored,
    settings: {
      ...s, beta: s.beta ?? method.beta, labelFree: s.labelFree ?? !method.needsLabels, preEpochs: s.preEpochs ?? 0,
      options: s.options ?? { ...method.options },
    },
  };
}
