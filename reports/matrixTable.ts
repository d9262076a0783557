// The results table of a matrix: one row per cell (its teacher rows first), with the quantizer variant that ran,
// the final and best top-1, the teacher's, the difference to the CE baseline of the same dataset, architecture,
// quantizer and variant, bits and seed, speed and wall time, and the run's warnings (a weak teacher); written
// as Markdown and CSV (table.md, table.csv) by writeReport.ts, both with numbers rounded to REPORT_PRECISION (a
// difference of 0.001 points in a table is noise, and full float digits hide the ones that matter).
import { stringify } from 'csv-stringify/sync';

import type { CellState, ReportCell } from './reportCell.ts';
import type { ReportTable } from './reportTable.ts';

export interface ReportRow {
  dataset: string;
  arch: string;
  quantizer: string;
  /** Which variant of the quantizer ran (quantizerVariant.ts): EWGS as STE or with a delta, PACT's alpha, ... */
  variant: string;
  bits: string;
  method: string;
  labels: 'yes' | 'no';
  seed: number;
  epochs: number;
  top1: number | null;
  top1Best: number | null;
  teacherTop1: number | null;
  /** top1 minus the CE baseline's top1 (same dataset, arch, quantizer and variant, bits, seed); null without one. */
  deltaVsCe: number | null;
  imagesPerSecond: number | null;
  wallSeconds: number | null;
  status: CellState;
  /** The result's warnings (trainer.ts: a teacher below the top-1 threshold), '; '-joined; '' when none. */
  warnings: string;
  cell: string;
}

/** Decimals of the tables' numbers: accuracies and their differences in points, throughput, wall time. */
export const REPORT_PRECISION = { accuracy: 2, imagesPerSecond: 1, seconds: 1 } as const;

/** The decimals a numeric column is rounded to; undefined for the integer columns (seed, epochs). */
function decimals(key: keyof ReportRow): number | undefined {
  if (key === 'imagesPerSecond') return REPORT_PRECISION.imagesPerSecond;
  if (key === 'wallSeconds') return REPORT_PRECISION.seconds;
  return key === 'seed' || key === 'epochs' ? undefined : REPORT_PRECISION.accuracy;
}

/** One row per cell of the store, as readStoreCells.ts read it. */
export function reportRows(cells: ReportCell[]): ReportRow[] {
  const rows: ReportRow[] = cells.map((c) => ({
    dataset: c.dataset, arch: c.arch, quantizer: c.quantizer, variant: c.variant, bits: c.bits, method: c.label,
    labels: c.labelFree ? 'no' : 'yes', seed: c.seed, epochs: c.epochsPlanned,
    top1: c.top1, top1Best: c.top1Best, teacherTop1: c.teacherTop1, deltaVsCe: null, imagesPerSecond: c.imagesPerSecond,
    wallSeconds: c.wallSeconds, status: c.state, warnings: (c.result?.warnings ?? []).join('; '), cell: c.id,
  }));
  // STE and Hessian-delta cells, say, are different quantizers: each is measured against its own CE baseline.
  const key = (r: ReportRow) => [r.dataset, r.arch, r.quantizer, r.variant, r.bits, r.seed].join('|');
  const baselines = new Map(rows.filter((r) => r.method === 'ce' && r.top1 !== null).map((r) => [key(r), r.top1!]));
  for (const r of rows) {
    const base = baselines.get(key(r));
    if (r.method !== 'teacher' && r.top1 !== null && base !== undefined) r.deltaVsCe = r.top1 - base;
  }
  return rows;
}

const COLUMNS: { key: keyof ReportRow; title: string }[] = [
  { key: 'dataset', title: 'dataset' }, { key: 'arch', title: 'arch' }, { key: 'quantizer', title: 'quantizer' },
  { key: 'variant', title: 'variant' }, { key: 'bits', title: 'bits' }, { key: 'method', title: 'method' },
  { key: 'labels', title: 'labels' },
  { key: 'seed', title: 'seed' }, { key: 'epochs', title: 'epochs' }, { key: 'top1', title: 'top-1 %' },
  { key: 'top1Best', title: 'best top-1 %' }, { key: 'teacherTop1', title: 'teacher top-1 %' },
  { key: 'deltaVsCe', title: 'vs CE (points)' }, { key: 'imagesPerSecond', title: 'img/s' },
  { key: 'wallSeconds', title: 'wall s' }, { key: 'status', title: 'status' }, { key: 'warnings', title: 'warnings' },
  { key: 'cell', title: 'cell' },
];

/** A number rounded to its column's decimals, as text; integer columns as they are. */
function rounded(v: number, key: keyof ReportRow): string {
  const places = decimals(key);
  return places === undefined ? String(v) : v.toFixed(places);
}

function display(row: ReportRow, key: keyof ReportRow): string {
  const v = row[key];
  if (v === null) return '-';
  if (typeof v !== 'number') return key === 'warnings' && v === '' ? '-' : v;
  if (key === 'deltaVsCe') return `${v >= 0 ? '+' : ''}${rounded(v, key)}`;
  return rounded(v, key);
}

/** The line under the Markdown table saying how its numbers are rounded. */
export function precisionNote(): string {
  const p = REPORT_PRECISION;
  return `Rounded: top-1 and differences to ${p.accuracy} decimals (percent, points), img/s to ${p.imagesPerSecond}, ` +
    `wall seconds to ${p.seconds}; table.csv likewise.`;
}

/** A Markdown table of the rows. */
export function markdownTable(rows: ReportRow[]): string {
  const head = `| ${COLUMNS.map((c) => c.title).join(' | ')} |`;
  const rule = `|${COLUMNS.map(() => '---').join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${COLUMNS.map((c) => display(r, c.key)).join(' | ')} |`)].join('\n');
}

/** The rows as CSV, numbers rounded to REPORT_PRECISION (empty where there is no value). */
export function csvTable(rows: ReportRow[]): string {
  const cell = (r: ReportRow, key: keyof ReportRow) => {
    const v = r[key];
    return v === null ? '' : typeof v === 'number' ? rounded(v, key) : v;
  };
  return stringify(rows.map((r) => COLUMNS.map((c) => cell(r, c.key))), { header: true, columns: COLUMNS.map((c) => c.key) });
}


/** The rows as a ReportTable (values as displayed), for the HTML page. */
export function cellTable(rows: ReportRow[]): ReportTable {
  return {
    id: 'cells', title: 'Every cell', notes: [precisionNote()], columns: COLUMNS.map((c) => ({ key: c.key, title: c.title })),
    rows: rows.map((r) => Object.fromEntries(COLUMNS.map((c) => [c.key, display(r, c.key)]))),
  };
}
