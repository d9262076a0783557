// The schema of a resolved training configuration (TrainConfig) as files hold it: a matrix cell's cell.json, and
// the JSON Schema editors and tools check such files with. A configuration read back from disk is checked against
// it before anything trusts it, so a corrupt or hand-edited file is a one-line error naming the field, not a crash
// deep in training. The interfaces stay where they are (trainConfig.ts, recipes.ts, methods/method.ts); the check
// at the end of this file keeps the schema and them the same shape.
import { z } from 'zod';

import type { MethodSettings } from '../methods/method.ts';
import type { Schedule } from './optim/schedule.ts';
import type { OptimizerSpec, PhaseRecipe } from './recipes.ts';
import { schemaProblems } from './schemaProblems.ts';
import type { QuantizationConfig, TrainConfig } from './trainConfig.ts';

const POSITIVE_INTEGER = 'must be a positive integer';
const positiveInteger = () => z.int({ error: POSITIVE_INTEGER }).positive({ error: POSITIVE_INTEGER });
const NON_NEGATIVE_INTEGER = 'must be a non-negative integer';
const nonNegativeInteger = () => z.int({ error: NON_NEGATIVE_INTEGER }).min(0, { error: NON_NEGATIVE_INTEGER });
const POSITIVE_NUMBER = 'must be a positive number';
const positiveNumber = () => z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER });
const NON_NEGATIVE_NUMBER = 'must be a number >= 0';
const nonNegativeNumber = () => z.number({ error: NON_NEGATIVE_NUMBER }).min(0, { error: NON_NEGATIVE_NUMBER });
const number = () => z.number({ error: 'must be a number' });
const flag = () => z.boolean({ error: 'must be true or false' });
const name = (what: string) => z.string({ error: `must be ${what}` });

const optimizerSchema = z.strictObject({
  kind: z.enum(['sgd', 'adam'], { error: "must be 'sgd' or 'adam'" }),
  lr: positiveNumber().describe('Base learning rate.'),
  weightDecay: nonNegativeNumber(),
  momentum: nonNegativeNumber().optional(),
  nesterov: flag().optional(),
}, { error: 'must be an optimizer: { kind, lr, weightDecay }' });

const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('cosine-epoch') }).describe('Cosine annealing stepped once per epoch, to 0 at the last.'),
  z.strictObject({
    kind: z.literal('warmup-cosine'), warmupIterations: nonNegativeInteger(), warmupFrom: nonNegativeNumber(),
  }).describe('Linear warm-up from warmupFrom over warmupIterations, then cosine to 0 per iteration.'),
  z.strictObject({ kind: z.literal('constant') }).describe('The base rate throughout.'),
], { error: "must be a schedule whose kind is 'cosine-epoch', 'warmup-cosine' or 'constant'" });

const phaseSchema = z.strictObject({
  epochs: positiveInteger(),
  batchSize: positiveInteger(),
  model: optimizerSchema.describe("The model parameters' optimizer."),
  quantizer: z.union([optimizerSchema, z.literal('model')], { error: "must be an optimizer, or 'model' to use the model's" })
    .describe("The quantizer parameters' optimizer, or 'model' to train them with the model's."),
  schedule: scheduleSchema,
  labelSmoothing: nonNegativeNumber(),
  alpha: nonNegativeNumber().describe('Weight of the KL term for SQAKD / KD.'),
}, { error: 'must be a training phase: { epochs, batchSize, model, quantizer, schedule, labelSmoothing, alpha }' });

const quantizationSchema = z.strictObject({
  quantizer: name('a quantizer name (sqakd list quantizers)'),
  wBits: positiveInteger().describe('Weight bits.'),
  aBits: positiveInteger().describe('Activation bits.'),
  fullPrecision: z.array(name('a layer name'), { error: 'must be a list of layer names' }).optional()
    .describe('Layers kept in full precision.'),
  perChannelWeights: flag(),
  ewgsDelta: z.union([nonNegativeNumber(), z.literal('hessian')], { error: "must be a number >= 0 or 'hessian'" }),
  pactTrainAlpha: flag(),
}, { error: 'must be null (full precision) or a quantization: { quantizer, wBits, aBits, ... }' });

const methodSettingsSchema = z.strictObject({
  alpha: nonNegativeNumber().describe('Weight of the KL term.'),
  gamma: nonNegativeNumber().describe('Weight of the cross-entropy term.'),
  beta: nonNegativeNumber().describe("Weight of a feature method's own loss."),
  temperature: positiveNumber().describe('Softmax temperature of the KL term.'),
  labelSmoothing: nonNegativeNumber(),
  labelFree: flag().describe('Feature methods: no cross-entropy term, no labels read.'),
  preEpochs: nonNegativeInteger().describe('Epochs of a pre-stage (FSP, FT).'),
  options: z.record(z.string(), number(), { error: 'must map option names to numbers' }).describe('Method-specific options.'),
}, { error: 'must be the method settings: { alpha, gamma, beta, temperature, labelSmoothing, labelFree, preEpochs, options }' });

/** A resolved training configuration, as stored in cell.json, checkpoints and results. */
export const trainConfigSchema = z.strictObject({
  dataset: name('a dataset name'),
  arch: name('an architecture name'),
  method: name('a method name'),
  quantization: quantizationSchema.nullable().describe('null for a full-precision model (a teacher).'),
  teacher: name('the path of the teacher checkpoint').nullable().describe('The checkpoint of the teacher, or null.'),
  recipe: name('a recipe name').nullable().describe('The recipe the settings come from, or null for generic settings.'),
  seed: nonNegativeInteger(),
  phase: phaseSchema,
  settings: methodSettingsSchema,
  trainImages: positiveInteger().optional().describe('Train on the first N training images only (absent: all).'),
}, { error: 'must be a training configuration (an object)' })
  .meta({ title: 'sqakd cell configuration', description: 'A resolved training configuration of one run or matrix cell.' });

/**
 * A raw configuration checked against the schema: the same object, typed, or an Error listing every problem on one
 * line, each at its path in the file (`at`: where the configuration sits in it, e.g. `['config']`).
 */
export function readTrainConfig(raw: unknown, at: readonly PropertyKey[] = []): TrainConfig {
  const read = trainConfigSchema.safeParse(raw, { reportInput: true });
  if (!read.success) throw new Error(schemaProblems(trainConfigSchema, read.error.issues, at).join('; '));
  // The object as written, not zod's copy: a configuration's identity is its exact JSON.
  return raw as TrainConfig;
}

/** The JSON Schema (draft-07) of a cell's configuration. */
export function cellConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(trainConfigSchema, { target: 'draft-07', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

// Compile-time: each schema's type and the interface it describes are assignable both ways, so neither can gain
// or lose a field, or change a field's type, without the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<z.output<typeof optimizerSchema>, OptimizerSpec>;
true satisfies Same<z.output<typeof scheduleSchema>, Schedule>;
true satisfies Same<z.output<typeof phaseSchema>, PhaseRecipe>;
true satisfies Same<z.output<typeof quantizationSchema>, QuantizationConfig>;
true satisfies Same<z.output<typeof methodSettingsSchema>, MethodSettings>;
true satisfies Same<z.output<typeof trainConfigSchema>, TrainConfig>;
