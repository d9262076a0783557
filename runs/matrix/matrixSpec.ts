// A matrix spec: the axes a benchmark grid crosses (datasets, architectures, quantizers, bit widths, methods,
// seeds), the schedule settings every cell shares, and exclusions. Read from JSON or YAML and checked against its
// schema (matrixSpecSchema.ts); every problem in a spec is collected and reported together, each with its place in
// the file, before anything runs.
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

import { didYouMean } from '../../engine/didYouMean.ts';
import { schemaProblems } from '../schemaProblems.ts';
import {
  AXIS_VALUE, canonicalBits, EXCLUDE_AXES, GRID_AXES, type gridSchema, type LandscapeSection, landscapeSectionSchema,
  type matrixSettingsSchema, matrixSpecFileSchema, NAME_SCHEMA, SETTINGS,
} from './matrixSpecSchema.ts';

export { canonicalBits } from './matrixSpecSchema.ts';

/** One grid of the matrix: every combination of its axis values is a cell. */
export type MatrixGrid = z.output<typeof gridSchema>;

export type AxisName = keyof MatrixGrid;
export const AXES: AxisName[] = ['dataset', 'arch', 'quantizer', 'bits', 'method', 'seed'];

/** Settings every cell shares; each is optional and falls back to the cell's recipe. */
export type MatrixSettings = z.output<typeof matrixSettingsSchema>;

export type MatrixSpec = MatrixSettings & {
  /** The matrix's name: its folder under the run store and the reports. */
  name: string;
  grids: MatrixGrid[];
  /** Cells matching any of these partial assignments are left out. */
  exclude: Partial<Record<AxisName, string>>[];
  /** Landscapes swept around chosen students once they are trained. */
  landscape?: LandscapeSection;
};

/** A spec with every problem listed, one per line. */
export class MatrixSpecError extends Error {
  constructor(readonly problems: string[], where: string) {
    super(`invalid matrix spec${where ? ` (${where})` : ''}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

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
    const variants = Object.keys(QUANTIZER_VARIANTS);
    throw new Error(`quantizer variant '${value}' is unknown${didYouMean(value, variants)} ` +
      `(valid: a quantizer name, or ${variants.join(', ')})`);
  }
  return variant;
}

/** A method axis value split into the method's name and its variant. */
export function parseMethodValue(value: string): { name: string; labelFree: boolean } {
  const [name, variant] = value.split(':');
  return { name, labelFree: variant === 'label-free' };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where each grid's values were written (`grid.method[3]`, or `--set method=...` for an override), so that problems
 * found later (the planner's unknown names) point into the file. Kept beside the grids rather than in them: a spec
 * stays plain data, stored and compared as JSON.
 */
const valueSources = new WeakMap<MatrixGrid, Partial<Record<AxisName, Map<string, string>>>>();

/** Where a grid's axis value was written (`grid.method[3]`, `--set method=sqkad`), when known. */
export function axisValueSource(grid: MatrixGrid, axis: AxisName, value: string | number): string | undefined {
  return valueSources.get(grid)?.[axis]?.get(String(value));
}

/** The value as cells name it: bit widths in canonical form, the rest as strings. */
function cellValue(axis: AxisName, value: unknown): string {
  return axis === 'bits' ? canonicalBits(value) ?? String(value) : String(value);
}

/** Records where in the file each value of `grid` (read from `raw`, written at `where`) was written. */
function recordSources(grid: MatrixGrid, raw: Record<string, unknown>, where: string): void {
  const sources: Partial<Record<AxisName, Map<string, string>>> = {};
  for (const axis of AXES) {
    const written = raw[axis];
    const entries = Array.isArray(written)
      ? written.map((v, i) => [cellValue(axis, v), `${where}.${axis}[${i}]`] as const)
      : [[cellValue(axis, written), `${where}.${axis}`] as const];
    // A repeated value is reported where it repeats; the cells it names point to its first place.
    sources[axis] = new Map([...entries].reverse());
  }
  valueSources.set(grid, sources);
}

/** A grid derived from another (an override or a filter) keeps its values' places; `override` gives an axis new ones. */
function derivedGrid(from: MatrixGrid, to: MatrixGrid, override?: { axis: AxisName; source: string }): MatrixGrid {
  const sources = { ...valueSources.get(from) };
  if (override) sources[override.axis] = new Map(to[override.axis].map((v) => [String(v), override.source]));
  valueSources.set(to, sources);
  return to;
}

/** The raw grids of a spec with the path each is written at. */
function rawGrids(raw: Record<string, unknown>): { raw: unknown; where: string }[] {
  if (raw.grids !== undefined) return Array.isArray(raw.grids) ? raw.grids.map((g, i) => ({ raw: g, where: `grids[${i}]` })) : [];
  return raw.grid === undefined ? [] : [{ raw: raw.grid, where: 'grid' }];
}

/** What a schema accepts of a value, or undefined. */
function accepted<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const read = schema.safeParse(value);
  return read.success ? read.data : undefined;
}

/** A grid's usable values: each axis as the schema reads it, or else those of its values that are well-formed. */
function salvageGrid(raw: Record<string, unknown>): MatrixGrid {
  const axis = <A extends AxisName>(name: A): MatrixGrid[A] => {
    const whole = accepted(GRID_AXES[name], raw[name]);
    if (whole !== undefined) return whole as MatrixGrid[A];
    const values: unknown[] = Array.isArray(raw[name]) ? raw[name] : raw[name] === undefined ? [] : [raw[name]];
    return values.map((v) => accepted(AXIS_VALUE[name], v)).filter((v) => v !== undefined) as MatrixGrid[A];
  };
  return {
    dataset: axis('dataset'), arch: axis('arch'), quantizer: axis('quantizer'), bits: axis('bits'), method: axis('method'),
    seed: axis('seed'),
  };
}

/** A spec's usable parts, when the schema rejects the whole: so the planner can still report on the rest. */
function salvageSpec(raw: unknown, defaultName: string): MatrixSpec {
  if (!isRecord(raw)) return { name: defaultName, grids: [], exclude: [] };
  const settings = Object.fromEntries(Object.entries(SETTINGS)
    .map(([key, schema]) => [key, accepted(schema, raw[key])] as const).filter(([, v]) => v !== undefined)) as MatrixSettings;
  const grids = rawGrids(raw).filter((g) => isRecord(g.raw)).map((g) => salvageGrid(g.raw as Record<string, unknown>));
  const exclude = (Array.isArray(raw.exclude) ? raw.exclude : []).filter(isRecord).map((entry) => Object.fromEntries(
    Object.entries(entry).filter(([key]) => Object.hasOwn(EXCLUDE_AXES, key))
      .map(([key, v]) => [key, accepted(EXCLUDE_AXES[key as AxisName], v)] as const).filter(([, v]) => v !== undefined),
  ) as Partial<Record<AxisName, string>>)
    // An entry left empty would exclude every cell.
    .filter((entry) => Object.keys(entry).length > 0);
  const landscape = accepted(landscapeSectionSchema, raw.landscape);
  return { ...settings, name: accepted(NAME_SCHEMA, raw.name) ?? defaultName, grids, exclude, ...(landscape ? { landscape } : {}) };
}

/** A spec read as far as it goes, with every problem found on the way. */
export interface SpecReading {
  spec: MatrixSpec;
  problems: string[];
}

/**
 * Reads a raw spec's structure into a typed spec, keeping what is usable and listing every problem (unknown keys,
 * wrong types, malformed values), each with its path in the file; names (datasets, methods, ...) are checked when
 * the matrix is planned.
 */
export function readMatrixSpec(raw: unknown, defaultName: string): SpecReading {
  const read = matrixSpecFileSchema.safeParse(raw, { reportInput: true });
  let reading: SpecReading;
  if (read.success) {
    const { grid, grids, exclude, name, ...settings } = read.data;
    const spec = { ...settings, name: name ?? defaultName, grids: grids ?? (grid ? [grid] : []), exclude: exclude ?? [] };
    reading = { spec, problems: [] };
  } else {
    reading = { spec: salvageSpec(raw, defaultName), problems: schemaProblems(matrixSpecFileSchema, read.error.issues) };
  }
  if (isRecord(raw)) {
    const written = rawGrids(raw).filter((g) => isRecord(g.raw));
    reading.spec.grids.forEach((grid, i) => recordSources(grid, written[i].raw as Record<string, unknown>, written[i].where));
  }
  return reading;
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
 * Exclusions and landscape cells naming a value no grid has (a typo would otherwise exclude or sweep nothing, silently).
 * Values are looked up in the grids before and after the command line's overrides: an exclusion made moot by --set is
 * not a mistake.
 */
export function partialCellProblems(spec: MatrixSpec, before: readonly MatrixGrid[] = spec.grids): string[] {
  const known = axisValues([...before, ...spec.grids]);
  const problems: string[] = [];
  const entries = [...spec.exclude.map((entry, i) => ({ entry, where: `exclude[${i}]` })),
    ...(spec.landscape?.cells ?? []).map((entry, i) => ({ entry, where: `landscape.cells[${i}]` }))];
  entries.forEach(({ entry, where }) => {
    for (const [axis, value] of Object.entries(entry) as [AxisName, string][]) {
      const values = known.get(axis);
      if (!values || values.has(value)) continue;
      // Names are misspelt; a bit width or seed that is in no grid is another value, not a typo of one.
      const suggestion = axis === 'bits' || axis === 'seed' ? '' : didYouMean(value, [...values]);
      problems.push(`${where}.${axis}: '${value}' is in no grid${suggestion} (its values: ${[...values].join(', ')})`);
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
  let grids = spec.grids;
  for (const o of overrides) {
    const parsed = parseAxisValues('--set', o, problems);
    if (!parsed) continue;
    const { axis, values } = parsed;
    const replaced = axis === 'seed' ? values.map(Number) : values;
    grids = grids.map((g) => derivedGrid(g, { ...g, [axis]: replaced }, { axis, source: `--set ${o}` }));
  }
  return { spec: { ...spec, grids }, problems };
}

/** CLI overrides (see applyAxisOverrides); a bad one is a MatrixSpecError. */
export function overrideAxes(spec: MatrixSpec, overrides: string[]): MatrixSpec {
  const { spec: out, problems } = applyAxisOverrides(spec, overrides);
  if (problems.length) throw new MatrixSpecError(problems, 'command line');
  return out;
}

/**
 * CLI filters: `axis=v1,v2` keeps only those values of an axis in every grid; grids left empty are dropped. A
 * filter that leaves no cell is a problem unless `specIsBroken`: a spec with problems of its own has lost values
 * to them (a misspelt `archs:` leaves no arch), and blaming the filter would mislead.
 */
export function applyAxisFilters(spec: MatrixSpec, filters: string[], specIsBroken = false): SpecReading {
  const problems: string[] = [];
  // Without filters there is nothing to report here: a grid with an empty axis is the spec's own problem.
  if (!filters.length) return { spec, problems };
  let grids = spec.grids;
  const before = grids.filter((g) => AXES.every((axis) => g[axis].length > 0)).length;
  for (const f of filters) {
    const parsed = parseAxisValues('--only', f, problems);
    if (!parsed) continue;
    const { axis, values } = parsed;
    const keep = new Set(values);
    grids = grids.map((g) => derivedGrid(g, { ...g, [axis]: (g[axis] as (string | number)[]).filter((v) => keep.has(String(v))) }));
  }
  grids = grids.filter((g) => AXES.every((axis) => g[axis].length > 0));
  if (!problems.length && !specIsBroken && before && !grids.length) {
    problems.push(`--only ${filters.join(' ')} leaves no cell in the matrix`);
  }
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
  const excludes = partialCellProblems(overridden.spec, read.spec.grids);
  const filtered = applyAxisFilters(overridden.spec, cli.only ?? [], read.problems.length > 0);
  return { spec: filtered.spec, problems: [...read.problems, ...excludes, ...overridden.problems, ...filtered.problems] };
}
