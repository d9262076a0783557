// A matrix spec: the axes a benchmark grid crosses (datasets, architectures, quantizers, bit widths, methods,
// seeds), the schedule settings every cell shares, and exclusions. Read from JSON or YAML; every problem in a spec
// is collected and reported together, before anything runs.
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

/** One grid of the matrix: every combination of its axis values is a cell. */
export interface MatrixGrid {
  dataset: string[];
  arch: string[];
  quantizer: string[];
  /** Bit widths as `W2A2` (weights 2, activations 2). */
  bits: string[];
  /** Method names; `name:label-free` runs a feature method without labels. */
  method: string[];
  seed: number[];
}

export type AxisName = keyof MatrixGrid;
export const AXES: AxisName[] = ['dataset', 'arch', 'quantizer', 'bits', 'method', 'seed'];

/** Settings every cell shares; each is optional and falls back to the cell's recipe. */
export interface MatrixSettings {
  /** A recipe for every cell (default: the recipe made for each dataset and architecture). */
  recipe?: string;
  /** Student epochs (default: the recipe's). */
  epochs?: number;
  /** Teacher epochs (default: the recipe's). */
  teacherEpochs?: number;
  /** Pre-stage epochs of the methods that have one (FSP, FT; default 30, the paper code's). */
  preEpochs?: number;
  /** Multiplies every schedule (teacher, student, pre-stages), rounding to at least one epoch. */
  epochsScale?: number;
  batchSize?: number;
  /** Train on the first N training images only. */
  trainImages?: number;
  /** The seed of the shared teachers (default 1). */
  teacherSeed?: number;
  alpha?: number;
  temperature?: number;
  /** Per method: its options (e.g. { crd: { negatives: 4096 } }). */
  methodOptions?: Record<string, Record<string, number>>;
  /** Existing teacher checkpoints by `dataset/arch`, used instead of training a teacher. */
  teachers?: Record<string, string>;
}

export interface MatrixSpec extends MatrixSettings {
  /** The matrix's name: its folder under the run store and the reports. */
  name: string;
  grids: MatrixGrid[];
  /** Cells matching any of these partial assignments are left out. */
  exclude: Partial<Record<AxisName, string>>[];
}

/** A spec with every problem listed, one per line. */
export class MatrixSpecError extends Error {
  constructor(readonly problems: string[], where: string) {
    super(`invalid matrix spec${where ? ` (${where})` : ''}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const SETTINGS_NUMBERS = ['epochs', 'teacherEpochs', 'preEpochs', 'epochsScale', 'batchSize', 'trainImages', 'teacherSeed', 'alpha',
  'temperature'] as const;
const INTEGER_SETTINGS = new Set(['epochs', 'teacherEpochs', 'preEpochs', 'batchSize', 'trainImages', 'teacherSeed']);
const TOP_KEYS = new Set(['name', 'grid', 'grids', 'exclude', 'recipe', 'methodOptions', 'teachers', ...SETTINGS_NUMBERS]);

/** Parses a spec file (.json, .yaml or .yml) into the raw object validateMatrixSpec takes. */
export function readMatrixSpecFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`matrix spec ${path} does not exist or cannot be read`);
  }
  try {
    return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`matrix spec ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `W2A2`, `w2a2`, `2/2` or a number (same width for both) as the canonical `W2A2`, or null. */
export function canonicalBits(value: unknown): string | null {
  if (typeof value === 'number') return Number.isInteger(value) ? `W${value}A${value}` : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(?:[wW](\d+)[aA](\d+)|(\d+)\s*\/\s*(\d+))\s*$/.exec(value);
  if (!m) return null;
  return `W${m[1] ?? m[3]}A${m[2] ?? m[4]}`;
}

/** Weight and activation bits of a canonical `W2A2`. */
export function parseBits(bits: string): { wBits: number; aBits: number } {
  const m = /^W(\d+)A(\d+)$/.exec(bits);
  if (!m) throw new Error(`bits '${bits}' are not of the form W2A2`);
  return { wBits: Number(m[1]), aBits: Number(m[2]) };
}

/**
 * The variants a quantizer axis value may name, where the paper's text and its public code disagree (SPEC.md):
 * `ewgs` is the code's straight-through estimator (delta 0), `ewgs:hessian` the EWGS paper's Hessian-trace delta;
 * `pact` learns its clip as the PACT paper does, `pact:frozen-alpha` keeps it fixed as the code's Tiny-ImageNet runs.
 */
export const QUANTIZER_VARIANTS: Record<string, { quantizer: string; ewgsDelta?: 'hessian'; pactTrainAlpha?: false }> = {
  'ewgs:hessian': { quantizer: 'ewgs', ewgsDelta: 'hessian' },
  'pact:frozen-alpha': { quantizer: 'pact', pactTrainAlpha: false },
};

/** A quantizer axis value as the quantizer's name and the settings of its variant (none for a plain name). */
export function parseQuantizerValue(value: string): { quantizer: string; ewgsDelta?: 'hessian'; pactTrainAlpha?: false } {
  if (!value.includes(':')) return { quantizer: value };
  const variant = QUANTIZER_VARIANTS[value];
  if (!variant) {
    throw new Error(`quantizer variant '${value}' is unknown (valid: a quantizer name, or ${Object.keys(QUANTIZER_VARIANTS).join(', ')})`);
  }
  return variant;
}

/** A method axis value split into the method's name and its variant. */
export function parseMethodValue(value: string): { name: string; labelFree: boolean } {
  const [name, variant] = value.split(':');
  return { name, labelFree: variant === 'label-free' };
}

function readGrid(raw: unknown, where: string, problems: string[]): MatrixGrid | null {
  if (!isRecord(raw)) {
    problems.push(`${where} must be an object with the axes ${AXES.join(', ')}`);
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (!(AXES as string[]).includes(key)) problems.push(`${where}: unknown axis '${key}' (valid: ${AXES.join(', ')})`);
  }
  const list = (axis: AxisName, fallback?: unknown[]): unknown[] => {
    const v = raw[axis] ?? fallback;
    if (v === undefined) {
      problems.push(`${where}: axis '${axis}' is missing`);
      return [];
    }
    const values = Array.isArray(v) ? v : [v];
    if (!values.length) problems.push(`${where}: axis '${axis}' is empty (give at least one value)`);
    for (const repeated of repeatedValues(values)) {
      problems.push(`${where}: ${axis} ${JSON.stringify(repeated)} is listed twice (each value names one cell)`);
    }
    return values;
  };
  const strings = (axis: AxisName, fallback?: unknown[]) => list(axis, fallback).map((v) => {
    if (typeof v !== 'string') problems.push(`${where}: ${axis} value ${JSON.stringify(v)} must be a string`);
    return String(v);
  });
  const bits = list('bits').map((v) => {
    const b = canonicalBits(v);
    if (!b) problems.push(`${where}: bits value ${JSON.stringify(v)} must look like W2A2`);
    return b ?? String(v);
  });
  const seeds = list('seed', [1]).map((v) => {
    if (!Number.isInteger(v) || (v as number) < 0) problems.push(`${where}: seed ${JSON.stringify(v)} must be a non-negative integer`);
    return Number(v);
  });
  return {
    dataset: strings('dataset'), arch: strings('arch'), quantizer: strings('quantizer', ['ewgs']), bits,
    method: strings('method'), seed: seeds,
  };
}

/** A spec read as far as it goes, with every problem found on the way. */
export interface SpecReading {
  spec: MatrixSpec;
  problems: string[];
}

/**
 * Reads a raw spec's structure into a typed spec, keeping what is usable and listing every problem (unknown keys,
 * wrong types, malformed values); names (datasets, methods, ...) are checked when the matrix is planned.
 */
export function readMatrixSpec(raw: unknown, defaultName: string): SpecReading {
  const problems: string[] = [];
  if (!isRecord(raw)) return { spec: { name: defaultName, grids: [], exclude: [] }, problems: ['the spec must be an object'] };
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.has(key)) problems.push(`unknown key '${key}' (valid: ${[...TOP_KEYS].join(', ')})`);
  }
  if (raw.grid !== undefined && raw.grids !== undefined) problems.push("give either 'grid' or 'grids', not both");
  const rawGrids = raw.grids ?? (raw.grid === undefined ? undefined : [raw.grid]);
  if (!Array.isArray(rawGrids) || !rawGrids.length) problems.push("'grid' (an object of axes) or 'grids' (a list of them) is required");
  const grids = (Array.isArray(rawGrids) ? rawGrids : [])
    .map((g, i) => readGrid(g, raw.grids !== undefined ? `grids[${i}]` : 'grid', problems))
    .filter((g): g is MatrixGrid => g !== null);

  const name = raw.name ?? defaultName;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    problems.push(`name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (it names a folder)`);
  }
  const settings: MatrixSettings = {};
  for (const key of SETTINGS_NUMBERS) {
    const v = raw[key];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && v > 0 && (!INTEGER_SETTINGS.has(key) || Number.isInteger(v));
    if (!ok) problems.push(`${key} must be a positive ${INTEGER_SETTINGS.has(key) ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
    else settings[key] = v;
  }
  if (raw.recipe !== undefined) {
    if (typeof raw.recipe === 'string') settings.recipe = raw.recipe;
    else problems.push('recipe must be a recipe name');
  }
  if (raw.methodOptions !== undefined) {
    const ok = isRecord(raw.methodOptions) && Object.values(raw.methodOptions).every((o) =>
      isRecord(o) && Object.values(o).every((n) => typeof n === 'number' && Number.isFinite(n)));
    if (ok) settings.methodOptions = raw.methodOptions as Record<string, Record<string, number>>;
    else problems.push('methodOptions must map method names to { option: number } objects');
  }
  if (raw.teachers !== undefined) {
    const ok = isRecord(raw.teachers) && Object.entries(raw.teachers).every(([k, v]) => /^[^/]+\/[^/]+$/.test(k) && typeof v === 'string');
    if (ok) settings.teachers = raw.teachers as Record<string, string>;
    else problems.push("teachers must map 'dataset/arch' to a checkpoint path");
  }
  const exclude: MatrixSpec['exclude'] = [];
  if (raw.exclude !== undefined) {
    if (!Array.isArray(raw.exclude)) problems.push('exclude must be a list of partial cells, e.g. [{ arch: vgg8, bits: W1A1 }]');
    for (const [i, e] of (Array.isArray(raw.exclude) ? raw.exclude : []).entries()) {
      if (!isRecord(e) || !Object.keys(e).length) {
        problems.push(`exclude[${i}] must be an object of axis values`);
        continue;
      }
      const entry: Partial<Record<AxisName, string>> = {};
      for (const [k, v] of Object.entries(e)) {
        if (!(AXES as string[]).includes(k)) problems.push(`exclude[${i}]: unknown axis '${k}' (valid: ${AXES.join(', ')})`);
        else entry[k as AxisName] = k === 'bits' ? canonicalBits(v) ?? String(v) : String(v);
      }
      exclude.push(entry);
    }
  }
  const validName = typeof name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? name : defaultName;
  return { spec: { name: validName, grids, exclude, ...settings }, problems };
}

/** Checks a raw spec's structure and returns it typed; every problem is listed in one MatrixSpecError. */
export function validateMatrixSpec(raw: unknown, defaultName: string, where = ''): MatrixSpec {
  const { spec, problems } = readMatrixSpec(raw, defaultName);
  if (problems.length) throw new MatrixSpecError(problems, where);
  return spec;
}

/** The values each axis takes in any of the grids, as the strings cells and exclusions use. */
function axisValues(grids: readonly MatrixGrid[]): Map<AxisName, Set<string>> {
  return new Map(AXES.map((axis) => [axis, new Set(grids.flatMap((g) => (g[axis] as (string | number)[]).map(String)))]));
}

/**
 * Exclusions naming a value no grid has (a typo would otherwise exclude nothing, silently). Values are looked up in
 * the grids before and after the command line's overrides: an exclusion made moot by --set is not a mistake.
 */
export function excludeProblems(spec: MatrixSpec, before: readonly MatrixGrid[] = spec.grids): string[] {
  const known = axisValues([...before, ...spec.grids]);
  const problems: string[] = [];
  spec.exclude.forEach((entry, i) => {
    for (const [axis, value] of Object.entries(entry) as [AxisName, string][]) {
      const values = known.get(axis);
      if (!values || values.has(value)) continue;
      problems.push(`exclude[${i}]: ${axis} '${value}' is in no grid (its values: ${[...values].join(', ')})`);
    }
  });
  return problems;
}

/** Values that occur more than once in a list (compared as JSON, so 1 and '1' differ as a spec file's do). */
function repeatedValues(values: readonly unknown[]): unknown[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const v of values) {
    const key = JSON.stringify(v);
    if (seen.has(key)) repeated.add(key);
    seen.add(key);
  }
  return [...repeated].map((key) => JSON.parse(key) as unknown);
}

/** A command-line `axis=v1,v2` (bit widths in canonical form), or undefined with the problem recorded. */
function parseAxisValues(flag: string, argument: string, problems: string[]): { axis: AxisName; values: string[] } | undefined {
  const [axis, list] = argument.split('=');
  const values = (list ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  if (!(AXES as string[]).includes(axis) || !values.length) {
    problems.push(`${flag} ${argument}: expected axis=value[,value...] with an axis among ${AXES.join(', ')}`);
    return undefined;
  }
  const bad = axis === 'seed' ? values.filter((v) => !/^\d+$/.test(v)) : [];
  for (const v of bad) problems.push(`${flag} ${argument}: seed '${v}' must be a non-negative integer`);
  const canonical = axis === 'bits' ? values.map((v) => canonicalBits(v) ?? v) : values;
  for (const v of repeatedValues(canonical)) problems.push(`${flag} ${argument}: ${axis} '${v}' is listed twice`);
  if (bad.length) return undefined;
  return { axis: axis as AxisName, values: canonical };
}

/** CLI overrides: `axis=v1,v2` replaces an axis in every grid; bad ones are listed and left out. */
export function applyAxisOverrides(spec: MatrixSpec, overrides: string[]): SpecReading {
  const problems: string[] = [];
  const grids = spec.grids.map((g) => ({ ...g }));
  for (const o of overrides) {
    const parsed = parseAxisValues('--set', o, problems);
    if (!parsed) continue;
    const { axis, values } = parsed;
    for (const g of grids) {
      if (axis === 'seed') g.seed = values.map(Number);
      else g[axis as Exclude<AxisName, 'seed'>] = values;
    }
  }
  return { spec: { ...spec, grids }, problems };
}

/** CLI overrides (see applyAxisOverrides); a bad one is a MatrixSpecError. */
export function overrideAxes(spec: MatrixSpec, overrides: string[]): MatrixSpec {
  const { spec: out, problems } = applyAxisOverrides(spec, overrides);
  if (problems.length) throw new MatrixSpecError(problems, 'command line');
  return out;
}

/** CLI filters: `axis=v1,v2` keeps only those values of an axis in every grid; grids left empty are dropped. */
export function applyAxisFilters(spec: MatrixSpec, filters: string[]): SpecReading {
  const problems: string[] = [];
  // Without filters there is nothing to report here: a grid with an empty axis is the spec's own problem.
  if (!filters.length) return { spec, problems };
  let grids = spec.grids.map((g) => ({ ...g }));
  const before = grids.filter((g) => AXES.every((axis) => g[axis].length > 0)).length;
  for (const f of filters) {
    const parsed = parseAxisValues('--only', f, problems);
    if (!parsed) continue;
    const { axis, values } = parsed;
    const keep = new Set(values);
    grids = grids.map((g) => ({ ...g, [axis]: (g[axis] as (string | number)[]).filter((v) => keep.has(String(v))) }));
  }
  grids = grids.filter((g) => AXES.every((axis) => g[axis].length > 0));
  if (!problems.length && before && !grids.length) problems.push(`--only ${filters.join(' ')} leaves no cell in the matrix`);
  return { spec: { ...spec, grids }, problems };
}

/** CLI filters (see applyAxisFilters); a bad one, or one that leaves nothing, is a MatrixSpecError. */
export function restrictAxes(spec: MatrixSpec, filters: string[]): MatrixSpec {
  const { spec: out, problems } = applyAxisFilters(spec, filters);
  if (problems.length) throw new MatrixSpecError(problems, 'command line');
  return out;
}

/**
 * A spec from its raw form and the command line's --set and --only, with every problem of its structure, its
 * exclusions and the command line; the planner adds those of names, data and cells (PlanOptions.earlierProblems).
 */
export function assembleMatrixSpec(raw: unknown, defaultName: string, cli: { set?: string[]; only?: string[] } = {}): SpecReading {
  const read = readMatrixSpec(raw, defaultName);
  const overridden = applyAxisOverrides(read.spec, cli.set ?? []);
  const excludes = excludeProblems(overridden.spec, read.spec.grids);
  const filtered = applyAxisFilters(overridden.spec, cli.only ?? []);
  return { spec: filtered.spec, problems: [...read.problems, ...excludes, ...overridden.problems, ...filtered.problems] };
}
