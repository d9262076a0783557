// Published numbers a user copies from a paper into a small YAML file (reports/published.yaml is the documented
// template), so a report can put them beside the suite's own: each entry names the paper, its table, the setting
// and the method, and one top-1. Entries are matched to table rows by those fields; an entry that matches no row is
// reported, since a typo there would otherwise pass for "not run".
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { canonicalBits } from '../runs/matrix/matrixSpecSchema.ts';
import { RunRefusedError } from '../runs/runRefused.ts';
import { schemaProblems } from '../runs/schemaProblems.ts';

/** The template shipped with the suite, read by default (it holds the published FP teachers of SPEC.md). */
export const PUBLISHED_TEMPLATE = fileURLToPath(new URL('./published.yaml', import.meta.url));

const bits = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (v === 'FP32' || v === 32) return 'FP32';
  const canonical = canonicalBits(v);
  if (!canonical) ctx.addIssue({ code: 'custom', message: `must be a bit width like W2A2 or FP32, got ${JSON.stringify(v)}` });
  return canonical ?? '';
});

const entrySchema = z.strictObject({
  paper: z.string(),
  table: z.union([z.string(), z.number()]).transform(String),
  dataset: z.string(),
  arch: z.string(),
  bits,
  /** The quantizer of a QAT row (Tables 4-6); Table 4 and 7 use EWGS. */
  quantizer: z.string().default('ewgs'),
  /** `ce` for the quantizer alone, `sqakd`, `kd`, `teacher`, a feature method, or `<method>:label-free`. */
  method: z.string(),
  value: z.number(),
  note: z.string().optional(),
});

const fileSchema = z.strictObject({ entries: z.array(entrySchema).nullish().transform((v) => v ?? []) });

export type PublishedEntry = z.output<typeof entrySchema>;

/** What a row asks the published numbers for. */
export interface PublishedQuery {
  table: string;
  dataset: string;
  arch: string;
  bits: string;
  quantizer: string;
  method: string;
}

/** The entries of a published-numbers file, and which of them a report has matched so far. */
export class PublishedNumbers {
  private readonly matched = new Set<PublishedEntry>();

  constructor(readonly entries: PublishedEntry[], readonly source: string | null) {}

  /** Whether the file has entries for a table (its columns are shown only then). */
  hasTable(table: string): boolean {
    return this.entries.some((e) => e.table === table);
  }

  /** The value of the entry for this row (a teacher's ignores the quantizer), marking it matched; null if none. */
  value(q: PublishedQuery): number | null {
    const entry = this.entries.find((e) => e.table === q.table && e.dataset === q.dataset && e.arch === q.arch &&
      e.bits === q.bits && e.method === q.method && (q.method === 'teacher' || e.quantizer === q.quantizer));
    if (!entry) return null;
    this.matched.add(entry);
    return entry.value;
  }

  /**
   * Entries no row asked for, in words: one line each for the tables the report has (a typo, or a cell the matrix
   * lacks), and one line for all those of tables it does not have (the template's Tiny-ImageNet teachers, in a
   * CIFAR report).
   */
  unmatched(tablesPresent: ReadonlySet<string>): string[] {
    const open = this.entries.filter((e) => !this.matched.has(e));
    const lines = open.filter((e) => tablesPresent.has(e.table)).map((e) =>
      `${e.paper} table ${e.table}: ${e.dataset} ${e.arch} ${e.bits} ${e.quantizer} ${e.method} = ${e.value}`);
    const elsewhere = open.filter((e) => !tablesPresent.has(e.table));
    if (elsewhere.length) {
      lines.push(`${elsewhere.length} entr${elsewhere.length === 1 ? 'y' : 'ies'} for table(s) this report does not have ` +
        `(${[...new Set(elsewhere.map((e) => e.table))].sort().join(', ')})`);
    }
    return lines;
  }
}

/** Reads a published-numbers YAML file; a missing file gives no entries, a malformed one an error naming each problem. */
export function readPublished(path: string | null): PublishedNumbers {
  if (!path || !existsSync(path)) return new PublishedNumbers([], null);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new RunRefusedError(`published numbers ${path} are not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) {
    throw new RunRefusedError(`published numbers ${path}: ${schemaProblems(fileSchema, parsed.error.issues).join('; ')}`);
  }
  return new PublishedNumbers(parsed.data.entries, path);
}
