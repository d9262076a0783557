// Generates the report of one matrix: reads runs/<matrix>/, computes the paper's tables, the charts and the claims'
// verdicts, and writes reports/<matrix>/ (index.html, table.md and table.csv, one Markdown and CSV file per paper
// table, cells.json and cells.csv, and each chart as .svg and .png), every file atomically. A running matrix calls
// it after every finished cell, so the page is current while cells still run.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { TopLevelSpec } from 'vega-lite';

import { writeFileAtomic } from '../runs/atomicWrite.ts';
import { convergenceChart } from './charts/convergenceChart.ts';
import { kdComparisonChart } from './charts/kdComparisonChart.ts';
import { landscapeChart } from './charts/landscapeChart.ts';
import { renderPng, renderSvg } from './charts/renderChart.ts';
import { throughputChart } from './charts/throughputChart.ts';
import { top1VsBitsChart } from './charts/top1VsBitsChart.ts';
import { cellRecords, cellRecordsCsv } from './cellRecords.ts';
import { checkClaims } from './claims/index.ts';
import { type SettingConvergence, settingConvergence } from './convergence.ts';
import { htmlReport, type RenderedChart } from './htmlReport.ts';
import { type KdComparison, kdComparisons } from './kdComparison.ts';
import { cellTable, csvTable, markdownTable, precisionNote, reportRows } from './matrixTable.ts';
import { landscapeTable } from './landscapeTable.ts';
import { kdTables, qatTables } from './paperTables.ts';
import { readPublished } from './published.ts';
import { qatPairs } from './qatPairs.ts';
import { readStoreCells } from './readStoreCells.ts';
import type { ReportCell } from './reportCell.ts';
import { claimReportFolder, removeStaleReportFiles } from './reportFolder.ts';
import { reportSummary, type ReportSummary, summaryLines } from './reportSummary.ts';
import { tableCsv, tableMarkdown } from './tableFormats.ts';

export interface ReportOptions {
  /** The matrix's run store folder (runs/<matrix>). */
  storeRoot: string;
  name: string;
  /** Where the report goes (reports/<matrix>). */
  outDir: string;
  /** A published-numbers YAML file (published.ts); null or a missing file for none. */
  published?: string | null;
  /** Move another folder's files aside instead of refusing (the matrix claims the folder itself, earlier). */
  force?: boolean;
  /** The page's "generated" time (tests fix it). */
  now?: Date;
}

export interface WrittenReport {
  dir: string;
  /** The names written, index.html first. */
  files: string[];
  summary: ReportSummary;
  /** Files that could not be read, named. */
  problems: string[];
}

const CHARTS: { id: string; title: string; spec: (data: ChartData) => TopLevelSpec | null }[] = [
  { id: 'chart-top1-vs-bits', title: 'Top-1 against bit width, per method and architecture', spec: (d) => top1VsBitsChart(d.cells) },
  { id: 'chart-convergence', title: 'Convergence: test top-1 per epoch, SQAKD against CE and KD', spec: (d) => convergenceChart(d.convergence) },
  { id: 'chart-kd-methods', title: 'Table 7: KD methods with and without labels, against SQAKD', spec: (d) => kdComparisonChart(d.comparisons) },
  { id: 'chart-throughput', title: 'Training throughput per cell and backend', spec: (d) => throughputChart(d.cells) },
  { id: 'chart-landscapes', title: 'Loss landscapes of the students that have one', spec: (d) => landscapeChart(d.cells) },
];

interface ChartData {
  cells: ReportCell[];
  convergence: SettingConvergence[];
  comparisons: KdComparison[];
}

/** Writes the report; returns what it wrote and the summary. */
export async function writeReport(options: ReportOptions): Promise<WrittenReport> {
  const published = readPublished(options.published ?? null);
  const { cells, problems } = readStoreCells(options.storeRoot, options.name);
  const pairs = qatPairs(cells);
  const comparisons = kdComparisons(cells);
  const convergence = settingConvergence(cells);
  const claims = checkClaims(cells);
  const sharpness = landscapeTable(cells);
  const paperTables = [...qatTables(pairs, published), ...kdTables(comparisons, published), ...(sharpness ? [sharpness] : [])];
  const summary = reportSummary(cells, pairs, comparisons, claims);
  // The paper's table numbers the report has ('4', '7'), for the published entries that match none of its rows.
  const tablesPresent = new Set(paperTables.flatMap((t) => /^table(\d)/.exec(t.id)?.[1] ?? []));
  const rows = reportRows(cells);

  const charts: (RenderedChart & { png: Buffer })[] = [];
  for (const chart of CHARTS) {
    const spec = chart.spec({ cells, convergence, comparisons });
    if (!spec) continue;
    const svg = await renderSvg(spec);
    charts.push({ id: chart.id, title: chart.title, svg, png: renderPng(svg) });
  }

  claimReportFolder(options.outDir, { force: options.force });
  mkdirSync(options.outDir, { recursive: true });
  const files = new Map<string, string | Buffer>();
  files.set('index.html', htmlReport({
    name: options.name, storeRoot: options.storeRoot, generatedAt: (options.now ?? new Date()).toISOString(), summary,
    paperTables, cellTable: cellTable(rows), charts, claims, cells, problems, unmatchedPublished: published.unmatched(tablesPresent),
  }));
  const summaryMd = summaryLines(summary).map((l) => `- ${l}`).join('\n');
  files.set('table.md', [`# ${options.name}`, '', summaryMd, '', ...paperTables.map((t) => `${tableMarkdown(t)}\n`),
    '## Every cell', '', markdownTable(rows), '', precisionNote(), ''].join('\n'));
  files.set('table.csv', csvTable(rows));
  for (const t of paperTables) {
    files.set(`${t.id}.md`, `${tableMarkdown(t)}\n`);
    files.set(`${t.id}.csv`, tableCsv(t));
  }
  const records = cellRecords(cells);
  files.set('cells.json', `${JSON.stringify(records, null, 2)}\n`);
  files.set('cells.csv', cellRecordsCsv(records));
  for (const c of charts) {
    files.set(`${c.id}.svg`, c.svg);
    files.set(`${c.id}.png`, c.png);
  }
  for (const [name, content] of files) writeFileAtomic(join(options.outDir, name), content);
  removeStaleReportFiles(options.outDir, [...files.keys()]);
  return { dir: options.outDir, files: [...files.keys()], summary, problems };
}
