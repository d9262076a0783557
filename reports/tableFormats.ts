// One ReportTable as Markdown, CSV and HTML. Markdown and HTML show a statistic as `mean ± std (n=3)`; CSV is for
// machines, so it splits it into `<column>`, `<column>_std` and `<column>_n` (a difference into `<column>` and
// `<column>_se`), every number rounded to ACCURACY_DECIMALS, empty where there is no value.
import { stringify } from 'csv-stringify/sync';

import { ACCURACY_DECIMALS, type ReportTable, type TableColumn, type TableValue } from './reportTable.ts';
import { formatDifference, formatSeedStats } from './seedStats.ts';

const round = (v: number) => Number(v.toFixed(ACCURACY_DECIMALS));

/** A value as the text of a Markdown or HTML cell. */
export function displayValue(v: TableValue): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return v.toFixed(ACCURACY_DECIMALS);
  if (typeof v === 'string') return v === '' ? '-' : v;
  if ('stats' in v) return formatSeedStats(v.stats, ACCURACY_DECIMALS);
  return formatDifference(v.diff, ACCURACY_DECIMALS);
}

function markdownCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The table as Markdown: a heading, the table and its notes. */
export function tableMarkdown(t: ReportTable): string {
  const head = `| ${t.columns.map((c) => markdownCell(c.title)).join(' | ')} |`;
  const rule = `|${t.columns.map(() => '---').join('|')}|`;
  const rows = t.rows.map((r) => `| ${t.columns.map((c) => markdownCell(displayValue(r[c.key] ?? null))).join(' | ')} |`);
  const body = t.rows.length ? [head, rule, ...rows].join('\n') : '(no rows)';
  return [`## ${t.title}`, '', body, ...(t.notes.length ? ['', ...t.notes.map((n) => `- ${n}`)] : [])].join('\n');
}

function asStats(v: TableValue | undefined) {
  return v !== null && typeof v === 'object' && 'stats' in v ? v : undefined;
}

function asDiff(v: TableValue | undefined) {
  return v !== null && typeof v === 'object' && 'diff' in v ? v : undefined;
}

type CsvColumn = { key: string; get: (v: TableValue | undefined) => string | number };

const text = (v: TableValue | undefined) => (typeof v === 'string' ? v : '');

/** What a column becomes in CSV: statistics and differences split into their parts (a state, like `running`, kept). */
function csvColumns(t: ReportTable, c: TableColumn): CsvColumn[] {
  const sample = t.rows.map((r) => r[c.key]).find((v) => v !== null && typeof v === 'object');
  if (asStats(sample)) {
    return [
      { key: c.key, get: (v) => { const s = asStats(v)?.stats; return s ? round(s.mean) : text(v); } },
      { key: `${c.key}_std`, get: (v) => { const s = asStats(v)?.stats; return s && s.std !== null ? round(s.std) : ''; } },
      { key: `${c.key}_n`, get: (v) => asStats(v)?.stats?.n ?? '' },
    ];
  }
  if (asDiff(sample)) {
    return [
      { key: c.key, get: (v) => { const d = asDiff(v)?.diff; return d ? round(d.diff) : text(v); } },
      { key: `${c.key}_se`, get: (v) => { const d = asDiff(v)?.diff; return d && d.stdError !== null ? round(d.stdError) : ''; } },
    ];
  }
  return [{ key: c.key, get: (v) => (typeof v === 'number' ? round(v) : text(v)) }];
}

/** The table as CSV with a header of column keys. */
export function tableCsv(t: ReportTable): string {
  const columns = t.columns.flatMap((c) => csvColumns(t, c).map((x) => ({ ...x, source: c.key })));
  const records = t.rows.map((r) => columns.map((c) => c.get(r[c.source])));
  return stringify(records, { header: true, columns: columns.map((c) => c.key) });
}

/** Text made safe to put between HTML tags or in an attribute. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A number cell's sign as a class, so the page can colour gains and losses. */
function signClass(v: TableValue): string {
  const d = asDiff(v)?.diff;
  return !d ? '' : d.diff > 0 ? ' class="gain"' : d.diff < 0 ? ' class="loss"' : '';
}

/** The table as an HTML section: heading, table and notes. */
export function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c.title)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${t.columns.map((c) => {
    const v = r[c.key] ?? null;
    return `<td${signClass(v)}>${escapeHtml(displayValue(v))}</td>`;
  }).join('')}</tr>`);
  const table = t.rows.length ? `<table id="${escapeHtml(t.id)}">\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`
    : '<p>(no rows)</p>';
  const notes = t.notes.length ? `\n<ul class="notes">${t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<section class="table">\n<h3>${escapeHtml(t.title)}</h3>\n${table}${notes}\n</section>`;
}
