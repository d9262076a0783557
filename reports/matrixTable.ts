// The results table of a matrix: one row per cell (its teacher rows first), with the quantizer variant that ran,
// the final and best top-1, the teacher's, the difference to the CE baseline of the same dataset, architecture,
// quantizer and variant, bits and seed, speed and wall time; written (atomically) as Markdown and CSV under
// reports/<matrix>/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'csv-stringify/sync';

import { methodLabel } from '../methods/registry.ts';
import { writeFileAtomic } from '../runs/atomicWrite.ts';
import { claimOutputFolder } from '../runs/outputFolder.ts';
import type { MatrixPlan } from '../runs/matrix/plan.ts';
import type { RunStore } from '../runs/matrix/runStore.ts';
import { quantizerVariant } from './quantizerVariant.ts';

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
  status: 'finished' | 'failed' | 'not run';
  cell: string;
}

/** The rows of a matrix from what its run store holds now. */
export function reportRows(plan: MatrixPlan, store: RunStore): ReportRow[] {
  const rows: ReportRow[] = plan.cells.map((cell) => {
    const result = store.result(cell.id);
    const finished = store.status(cell) === 'finished' ? result : undefined;
    // What ran is what the result holds; a cell without one shows what it will run.
    const q = (finished?.config ?? cell.config).quantization;
    const labelFree = cell.config.settings.labelFree;
    return {
      dataset: cell.config.dataset, arch: cell.config.arch, quantizer: q?.quantizer ?? 'none', variant: quantizerVariant(q),
      bits: q ? `W${q.wBits}A${q.aBits}` : 'FP32',
      method: cell.kind === 'teacher' ? 'teacher' : methodLabel(cell.config.method, labelFree),
      labels: finished ? (finished.labelsUsed ? 'yes' : 'no') : (labelFree ? 'no' : 'yes'),
      seed: cell.config.seed, epochs: cell.config.phase.epochs,
      top1: finished?.top1 ?? null, top1Best: finished?.top1Best ?? null, teacherTop1: finished?.teacherTop1 ?? null,
      deltaVsCe: null, imagesPerSecond: finished?.imagesPerSecond ?? null, wallSeconds: finished?.wallSeconds ?? null,
      status: finished ? 'finished' : store.failure(cell.id) ? 'failed' : 'not run', cell: cell.id,
    };
  });
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
  { key: 'wallSeconds', title: 'wall s' }, { key: 'status', title: 'status' }, { key: 'cell', title: 'cell' },
];

function display(row: ReportRow, key: keyof ReportRow): string {
  const v = row[key];
  if (v === null) return '-';
  if (typeof v !== 'number') return v;
  if (key === 'deltaVsCe') return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
  if (key === 'imagesPerSecond' || key === 'wallSeconds') return v.toFixed(0);
  return key === 'seed' || key === 'epochs' ? String(v) : v.toFixed(2);
}

/** A Markdown table of the rows. */
export function markdownTable(rows: ReportRow[]): string {
  const head = `| ${COLUMNS.map((c) => c.title).join(' | ')} |`;
  const rule = `|${COLUMNS.map(() => '---').join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${COLUMNS.map((c) => display(r, c.key)).join(' | ')} |`)].join('\n');
}

/** The rows as CSV with full-precision numbers (empty where there is no value). */
export function csvTable(rows: ReportRow[]): string {
  return stringify(rows.map((r) => COLUMNS.map((c) => r[c.key] ?? '')), { header: true, columns: COLUMNS.map((c) => c.key) });
}

const REPORT_FILES = ['table.md', 'table.csv'];

/** Claims a report folder (outputFolder.ts): it may hold earlier reports' files, nothing else. */
export function claimReportFolder(dir: string, options: { force?: boolean } = {}): void {
  claimOutputFolder(dir, (entry) => (REPORT_FILES.includes(entry) || /\.tmp-\d+$/.test(entry) ? 'this-run' : 'foreign'),
    { force: options.force, elsewhere: 'another --reports-dir' });
}

/** Writes table.md and table.csv for the matrix into `dir`; returns their paths. */
export function writeMatrixTables(plan: MatrixPlan, store: RunStore, dir: string): string[] {
  const rows = reportRows(plan, store);
  claimReportFolder(dir);
  mkdirSync(dir, { recursive: true });
  const md = join(dir, 'table.md');
  const csv = join(dir, 'table.csv');
  writeFileAtomic(md, `# ${plan.name}\n\n${markdownTable(rows)}\n`);
  writeFileAtomic(csv, csvTable(rows));
  return [md, csv];
}
