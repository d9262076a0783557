// What a schema (zod) found wrong with a file, as the one-line problems the suite reports: each names the place in
// the file (`grid.method[3]`, `methodOptions.crd.negatives`), what is wrong and what is valid, and what was given.
// Zod's own issues say which branch of a union failed how; a user wrote one value, so only the branch of the form
// they wrote (a list, or a single value) is reported, and an unknown key comes with the valid ones and a suggestion.
import type { z } from 'zod';

import { didYouMean } from '../engine/didYouMean.ts';

type Issue = z.core.$ZodIssue;
type Segment = PropertyKey;

/** A path as it reads in a file: `grids[1].bits[0]`, `teachers["cifar10/resnet20"]`. */
export function pathInFile(path: readonly Segment[]): string {
  return path.map((segment, i) => {
    if (typeof segment === 'number') return `[${segment}]`;
    const key = String(segment);
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return i === 0 ? key : `.${key}`;
    return `[${JSON.stringify(key)}]`;
  }).join('');
}

/**
 * Every problem of a failed parse, one line each, in the schema's order; `at` is where in its file the parsed value
 * sits (`['config']` for a cell's configuration). Parse with `reportInput: true`, so that problems quote the value.
 */
export function schemaProblems(schema: z.core.$ZodType, issues: readonly Issue[], at: readonly Segment[] = []): string[] {
  const located = (path: readonly Segment[], message: string) => {
    const full = [...at, ...path];
    return full.length ? `${pathInFile(full)}: ${message}` : message;
  };
  return issues.flatMap((issue) => issueLines(schema, issue, [], located));
}

type Locate = (path: readonly Segment[], message: string) => string;

function issueLines(schema: z.core.$ZodType, issue: Issue, base: readonly Segment[], located: Locate): string[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union') {
    // The branch the value has the form of: the one whose problems are not all "not this kind of value".
    const branch = issue.errors.find((errors) => !errors.some(isKindMismatch));
    if (branch) return branch.flatMap((inner) => issueLines(schema, inner, path, located));
  }
  if (issue.code === 'invalid_key') return issue.issues.flatMap((inner) => issueLines(schema, inner, path, located));
  if (issue.code === 'unrecognized_keys') {
    const valid = keysAt(schema, path);
    return issue.keys.map((key) => located(path, `unknown key '${key}'${didYouMean(key, valid)}` +
      (valid.length ? ` (valid: ${valid.join(', ')})` : '')));
  }
  if (issue.code === 'invalid_union' && issue.discriminator && isRecord(issue.input)) {
    // A tagged union (a schedule's `kind`) failed on its tag: quote the tag, not the whole object.
    const tag = issue.input[issue.discriminator];
    const tags = 'options' in issue && issue.options ? issue.options.map(String) : [];
    const suggestion = typeof tag === 'string' ? didYouMean(tag, tags) : '';
    return [located(path, tag === undefined ? `missing (it ${issue.message})` : `${issue.message}${suggestion}, got ${shown(tag)}`)];
  }
  if (issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return [located(path, `missing (it ${issue.message})`)];
  }
  const suggestion = issue.code === 'invalid_value' && typeof issue.input === 'string'
    ? didYouMean(issue.input, issue.values.map(String)) : '';
  // A refinement's message says the whole of it (zod hands it the whole object or list as its input).
  const given = issue.code === 'custom' || issue.input === undefined ? '' : `, got ${shown(issue.input)}`;
  return [located(path, `${issue.message}${suggestion}${given}`)];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether an issue only says the value is of another kind than a branch takes (a list where a name goes). */
function isKindMismatch(issue: Issue): boolean {
  if (issue.path.length) return false;
  return issue.code === 'invalid_type' || (issue.code === 'invalid_union' && issue.errors.every((b) => b.some(isKindMismatch)));
}

/** A given value as a problem quotes it: as JSON, cut short when long. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys the object schema at `path` takes (none when there is no object there). */
function keysAt(schema: z.core.$ZodType, path: readonly Segment[]): string[] {
  let candidates = unwrapped(schema);
  for (const segment of path) candidates = candidates.flatMap((s) => childOf(s, segment)).flatMap(unwrapped);
  const object = candidates.find((s) => s._zod.def.type === 'object');
  return object ? Object.keys((object._zod.def as z.core.$ZodObjectDef).shape) : [];
}

/** The schemas a value of `schema` is checked against: through optionals, defaults, pipes and unions. */
function unwrapped(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & { innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[] };
  if (def.innerType) return unwrapped(def.innerType);
  if (def.type === 'pipe' && def.in) return unwrapped(def.in);
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrapped);
  return [schema];
}

function childOf(schema: z.core.$ZodType, segment: Segment): z.core.$ZodType[] {
  const def = schema._zod.def;
  if (def.type === 'object') {
    const shape = (def as z.core.$ZodObjectDef).shape;
    return typeof segment === 'string' && Object.hasOwn(shape, segment) ? [shape[segment]] : [];
  }
  if (def.type === 'array') return typeof segment === 'number' ? [(def as z.core.$ZodArrayDef).element] : [];
  if (def.type === 'record') return [(def as z.core.$ZodRecordDef).valueType];
  return [];
}
