// Every cell with every field of its result.json, for readers who want more than the tables: cells.json keeps the
// structure (the resolved config, provenance, the epoch history), cells.csv flattens it to one column per field
// (`config.optim.lr`, `provenance.commit`; lists as JSON text). Numbers are rounded to RECORD_SIGNIFICANT_DIGITS
// significant digits: enough for any accuracy, learning rate or seed, without float noise.
import { stringify } from 'csv-stringify/sync';

import type { ReportCell } from './reportCell.ts';

/** Significant digits of every number in cells.json and cells.csv. */
export const RECORD_SIGNIFICANT_DIGITS = 6;

/** A number to RECORD_SIGNIFICANT_DIGITS significant digits; integers up to 2^53 stay exact. */
export function roundSignificant(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  return Number(v.toPrecision(RECORD_SIGNIFICANT_DIGITS));
}

/** A JSON value with every number rounded. */
function roundAll(value: unknown): unknown {
  if (typeof value === 'number') return roundSignificant(value);
  if (Array.isArray(value)) return value.map(roundAll);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundAll(v)]));
  return value;
}

/** One record per cell: its id, state and what it is, then its result.json (finished cells), all numbers rounded. */
export function cellRecords(cells: ReportCell[]): Record<string, unknown>[] {
  return cells.map((c) => roundAll({
    cell: c.id, state: c.state, kind: c.kind, dataset: c.dataset, arch: c.arch, quantizer: c.quantizer, variant: c.variant,
    bits: c.bits, method: c.label, seed: c.seed, epochsDone: c.curve.length, epochsPlanned: c.epochsPlanned,
    ...(c.problem ? { problem: c.problem } : {}), ...(c.failure ? { failure: c.failure.error } : {}),
    ...(c.result ? { result: c.result } : {}),
  }) as Record<string, unknown>);
}

/** A record's fields as dot-separated paths; lists (the epoch history, warnings) stay whole, as JSON text. */
function flatten(value: unknown, prefix: string, out: Record<string, string | number | boolean>): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined && value !== null) {
    out[prefix] = Array.isArray(value) ? JSON.stringify(value) : (value as string | number | boolean);
  }
}

/** The records as CSV: the union of every record's fields, in the order first seen; empty where a cell has none. */
export function cellRecordsCsv(records: Record<string, unknown>[]): string {
  const flat = records.map((r) => {
    const out: Record<string, string | number | boolean> = {};
    flatten(r, '', out);
    return out;
  });
  const columns = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  return stringify(flat.map((r) => columns.map((k) => r[k] ?? '')), { header: true, columns });
}
