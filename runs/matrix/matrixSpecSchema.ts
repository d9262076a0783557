// The schema of a matrix spec file: what each key takes, in one place, from which the spec's TypeScript types are
// inferred and the JSON Schema that editors complete and check spec files with is generated. It checks structure
// and form only; whether a dataset, method or recipe of that name exists is the planner's to say (plan.ts), once.
import { z } from 'zod';

import { HVP_SCHEMES } from '../landscape/hessianVector.ts';
import { LANDSCAPE_LOSSES } from '../landscape/sweepSettings.ts';

const BITS_FORM = /^\s*(?:[wW](\d+)[aA](\d+)|(\d+)\s*\/\s*(\d+))\s*$/;
const BITS_MESSAGE = 'must be bit widths like W2A2 (also w2a2, 2/2, or 2 for both)';
const SEED_MESSAGE = 'must be a non-negative integer';
const NAME_FORM = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `W2A2`, `w2a2`, `2/2` or a number (same width for both) as the canonical `W2A2`, or null. */
export function canonicalBits(value: unknown): string | null {
  if (typeof value === 'number') return Number.isInteger(value) ? `W${value}A${value}` : null;
  if (typeof value !== 'string') return null;
  const m = BITS_FORM.exec(value);
  if (!m) return null;
  return `W${m[1] ?? m[3]}A${m[2] ?? m[4]}`;
}

/** Lists compare values as JSON (1 and '1' differ, as a file's do); bit widths by what they mean (2/2 is W2A2). */
const asWritten = (value: unknown) => JSON.stringify(value);
const asBits = (value: unknown) => canonicalBits(value) ?? JSON.stringify(value);

function named(what: string) {
  return z.string({ error: `must be ${what}` });
}

/** One axis value of each kind, as cells use them. */
export const AXIS_VALUE = {
  dataset: named('a dataset name (sqakd list datasets)'),
  arch: named('an architecture name (sqakd list archs)'),
  quantizer: named("a quantizer name, or a variant such as ewgs:hessian or pact:frozen-alpha"),
  bits: z.union([
    z.string({ error: BITS_MESSAGE }).regex(BITS_FORM, { error: BITS_MESSAGE }),
    z.int({ error: BITS_MESSAGE }).min(0, { error: BITS_MESSAGE }),
  ], { error: BITS_MESSAGE }).transform((v) => canonicalBits(v)!),
  method: named("a method name (sqakd list methods), or a feature method's <name>:label-free"),
  seed: z.int({ error: SEED_MESSAGE }).min(0, { error: SEED_MESSAGE }),
};

/**
 * One value or a list of them, read as a list. A list holds at least one value, each once (a value names cells);
 * the repeat check runs even when another value of the list is malformed, so one mistake does not hide another.
 */
function oneOrMany<T extends z.ZodType>(item: T, what: string, identity: (value: unknown) => string = asWritten) {
  const list = z.array(item).min(1, { error: 'must list at least one value' }).superRefine((values, ctx) => {
    if (!Array.isArray(values)) return;
    const seen = new Set<string>();
    const reported = new Set<string>();
    values.forEach((value: unknown, i) => {
      const key = identity(value);
      if (seen.has(key) && !reported.has(key)) {
        reported.add(key);
        ctx.addIssue({ code: 'custom', path: [i], message: `${key} is listed twice (each value names one cell)` });
      }
      seen.add(key);
    });
  }, { when: () => true });
  return z.union([item, list], { error: `must be ${what} or a list of them` })
    .transform((v): z.output<T>[] => (Array.isArray(v) ? v : [v]));
}

/** The axes of a grid. */
export const GRID_AXES = {
  dataset: oneOrMany(AXIS_VALUE.dataset, 'a dataset name').describe('Datasets, e.g. cifar10 (sqakd list datasets).'),
  arch: oneOrMany(AXIS_VALUE.arch, 'an architecture name').describe('Architectures, e.g. resnet20 (sqakd list archs).'),
  quantizer: oneOrMany(AXIS_VALUE.quantizer, 'a quantizer name').default(['ewgs'])
    .describe('Quantizers: ewgs, pact, lsq, dorefa, or a variant (ewgs:hessian, pact:frozen-alpha). Default ewgs.'),
  bits: oneOrMany(AXIS_VALUE.bits, 'bit widths like W2A2', asBits)
    .describe('Weight and activation bit widths: W2A2 (weights 2, activations 2), w2a2, 2/2, or 2 for both.'),
  method: oneOrMany(AXIS_VALUE.method, 'a method name')
    .describe("Training methods, e.g. ce, kd, sqakd, crd; a feature method's <name>:label-free runs it without labels."),
  seed: oneOrMany(AXIS_VALUE.seed, 'a non-negative integer').default([1]).describe('Seeds of the students. Default 1.'),
};

export const gridSchema = z.strictObject(GRID_AXES, { error: 'must be an object of axes (dataset, arch, quantizer, bits, method, seed)' })
  .describe('A grid: every combination of its axis values is a cell. Each axis takes one value or a list.');

const POSITIVE_INTEGER = 'must be a positive integer';
const POSITIVE_NUMBER = 'must be a positive number';
const positiveInteger = (description: string) =>
  z.int({ error: POSITIVE_INTEGER }).positive({ error: POSITIVE_INTEGER }).optional().describe(description);
const positiveNumber = (description: string) =>
  z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER }).optional().describe(description);
const TOP1_MESSAGE = 'must be a top-1 accuracy in percent, from 0 to 100';

/** The settings every cell of a matrix shares; each is optional and falls back to the cell's recipe. */
export const SETTINGS = {
  recipe: z.string({ error: 'must be a recipe name (sqakd list recipes)' }).optional()
    .describe('A recipe for every cell (default: the recipe made for each dataset and architecture).'),
  epochs: positiveInteger("Student epochs (default: the recipe's)."),
  teacherEpochs: positiveInteger("Teacher epochs (default: the recipe's)."),
  preEpochs: positiveInteger("Pre-stage epochs of the methods that have one (FSP, FT; default 30, the paper code's)."),
  epochsScale: positiveNumber('Multiplies every schedule (teacher, student, pre-stages), rounding to at least one epoch.'),
  batchSize: positiveInteger("Batch size (default: the recipe's)."),
  trainImages: positiveInteger('Train on the first N training images only.'),
  teacherSeed: positiveInteger('The seed of the shared teachers (default 1).'),
  alpha: positiveNumber("Weight of the KL term (default: the recipe's)."),
  temperature: positiveNumber('Softmax temperature of the KL term (default 4).'),
  methodOptions: z.record(z.string(), z.record(z.string(), z.number({ error: 'must be a number' }),
    { error: 'must map option names to numbers, e.g. { negatives: 4096 }' }),
  { error: 'must map method names to { option: number } objects, e.g. { crd: { negatives: 4096 } }' }).optional()
    .describe('Per method: its options, e.g. { crd: { negatives: 4096 } } (sqakd list methods shows them).'),
  teachers: z.record(
    z.string().regex(/^[^/]+\/[^/]+$/, { error: 'must name a dataset and an architecture as dataset/arch, e.g. cifar10/resnet20' }),
    z.string({ error: 'must be the path of a checkpoint' }),
    { error: "must map 'dataset/arch' to a checkpoint path" }).optional()
    .describe("Existing teacher checkpoints by 'dataset/arch', used instead of training a teacher."),
  teacherMinTop1: z.number({ error: TOP1_MESSAGE }).min(0, { error: TOP1_MESSAGE }).max(100, { error: TOP1_MESSAGE }).optional()
    .describe('The top-1 accuracy (%) below which a teacher counts as too weak to distil from (default: twice chance).'),
  weakTeacher: z.enum(['warn', 'error'], { error: "must be 'warn' or 'error'" }).optional()
    .describe("What a too-weak teacher does: 'warn' (the default) trains its students anyway, 'error' stops them."),
};

export const matrixSettingsSchema = z.object(SETTINGS);

/** One exclusion: a partial cell (axis values); every cell matching all of them is left out. */
export const EXCLUDE_AXES = {
  dataset: AXIS_VALUE.dataset.optional(),
  arch: AXIS_VALUE.arch.optional(),
  quantizer: AXIS_VALUE.quantizer.optional(),
  bits: AXIS_VALUE.bits.optional(),
  method: AXIS_VALUE.method.optional(),
  seed: AXIS_VALUE.seed.transform(String).optional(),
};

/** A partial cell (axis values) that picks the cells matching all of them. */
const partialCell = (description: string) => z.strictObject(EXCLUDE_AXES, { error: 'must be an object of axis values, e.g. { arch: vgg8, bits: W1A1 }' })
  // An entry whose only keys are unknown is already reported as such.
  .refine((entry) => Object.keys(entry).length > 0, {
    error: 'must name at least one axis value, e.g. { arch: vgg8, bits: W1A1 }', when: (payload) => payload.issues.length === 0,
  })
  .describe(description);

const excludeSchema = partialCell('A partial cell: cells matching all of its axis values are left out.');

const LOSS_MESSAGE = `must be one of ${LANDSCAPE_LOSSES.join(', ')}`;
const WEIGHT_MESSAGE = 'must be a non-negative number';
const weight = z.number({ error: WEIGHT_MESSAGE }).min(0, { error: WEIGHT_MESSAGE });

/** A spec's `landscape` section: loss landscapes swept around chosen students once they are trained (sqakd landscape's settings). */
export const landscapeSectionSchema = z.strictObject({
  cells: z.array(partialCell('A partial cell: its students are swept.'), { error: 'must be a list of partial cells, e.g. [{ method: sqakd }]' })
    .min(1, { error: 'must list at least one partial cell, e.g. [{ method: sqakd }] (leave cells out to sweep every student)' }).optional()
    .describe('The students to sweep, as partial cells, e.g. [{ method: sqakd }, { method: kd }] (default: every student).'),
  losses: z.array(z.enum(LANDSCAPE_LOSSES, { error: LOSS_MESSAGE }), { error: `must be a list of losses (${LANDSCAPE_LOSSES.join(', ')})` })
    .min(1, { error: 'must list at least one loss' }).optional().describe(`Losses evaluated on the grid (default: ${LANDSCAPE_LOSSES.join(', ')}).`),
  grid: z.int({ error: 'must be an integer of at least 2' }).min(2, { error: 'must be an integer of at least 2' }).optional()
    .describe('Points per axis (default 21).'),
  range: positiveNumber('The grid spans [-range, range] along each direction (default 1).'),
  subset: positiveInteger('Test images evaluated, chosen by seed (default 1024).'),
  seed: z.int({ error: SEED_MESSAGE }).min(0, { error: SEED_MESSAGE }).optional()
    .describe('Seeds the subset, the directions and the sharpness probes (default 1).'),
  radius: positiveNumber("Radius of the circle rise, in the directions' units (default 0.5)."),
  weights: z.strictObject({ ce: weight, kl: weight }, { error: 'must be { ce: <weight>, kl: <weight> }' }).optional()
    .describe('Weights of the ce+kl loss (default { ce: 1, kl: 1 }).'),
  batchSize: positiveInteger('Images per forward pass (default 256).'),
  traceSamples: positiveInteger("Hutchinson's Rademacher vectors for the trace (default 8)."),
  powerIterations: positiveInteger('Most Hessian-vector products of the power iteration (default 20).'),
  hvp: z.enum(HVP_SCHEMES, { error: `must be one of ${HVP_SCHEMES.join(', ')}` }).optional()
    .describe('Hessian-vector products by central differences of gradients (default) or forward ones (faster, less exact).'),
  jobs: positiveInteger('Jobs each sweep is split into: they share its grid chunks and run on the matrix\'s workers; ' +
    'one more then measures sharpness and writes the files (default 1: one job does it all).'),
  chunkSize: positiveInteger('Grid points per saved chunk: a killed job resumes from its last chunk (default: one grid row).'),
}, { error: 'must be an object of landscape settings, e.g. { cells: [{ method: sqakd }], grid: 21 }' })
  .describe('Loss landscapes and sharpness swept around chosen students after they are trained (written to their folders).');

export const NAME_SCHEMA = z.string({ error: "must be letters, digits, '.', '_' or '-' (it names a folder)" })
  .regex(NAME_FORM, { error: "must be letters, digits, '.', '_' or '-', starting with a letter or digit (it names a folder)" });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A spec file as written: `grid` or `grids`, the settings, the exclusions. */
export const matrixSpecFileSchema = z.strictObject({
  name: NAME_SCHEMA.optional()
    .describe('The matrix\'s name: its folder under the run store and the reports (default: the file\'s name).'),
  grid: gridSchema.optional(),
  grids: z.array(gridSchema, { error: 'must be a list of grids' }).min(1, { error: 'must list at least one grid' }).optional()
    .describe('Several grids (instead of grid): the matrix is their union.'),
  exclude: z.array(excludeSchema, { error: 'must be a list of partial cells, e.g. [{ arch: vgg8, bits: W1A1 }]' }).optional()
    .describe('Cells matching any of these partial cells are left out.'),
  ...SETTINGS,
  landscape: landscapeSectionSchema.optional(),
}, { error: 'the spec must be an object of keys such as name, grid, epochs and exclude' })
  // Runs whatever else is wrong (each key is checked on its own), so a spec's every problem shows in one pass.
  .superRefine((spec, ctx) => {
    if (spec.grid !== undefined && spec.grids !== undefined) {
      ctx.addIssue({ code: 'custom', message: "give either 'grid' or 'grids', not both" });
    }
    if (spec.grid === undefined && spec.grids === undefined) {
      ctx.addIssue({ code: 'custom', message: "'grid' (an object of axes) or 'grids' (a list of them) is required" });
    }
  }, { when: (payload) => isRecord(payload.value) })
  .meta({
    title: 'sqakd matrix spec',
    description: 'A benchmark matrix: the grids of axes it crosses, the settings every cell shares, and exclusions ' +
      '(npm run matrix -- --spec <file>).',
  });

export type MatrixSpecFile = z.output<typeof matrixSpecFileSchema>;

export type LandscapeSection = z.output<typeof landscapeSectionSchema>;

/** The JSON Schema (draft-07) of a spec file, for editors (yaml-language-server) to complete and check with. */
export function matrixSpecJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(matrixSpecFileSchema, { target: 'draft-07', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
