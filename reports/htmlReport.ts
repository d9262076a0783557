// The report as one self-contained HTML page: the summary first (cells done, running, failed; SQAKD's wins; the
// claims' verdicts), then the paper's tables, the charts, the claims with their evidence, the failed cells with the
// tail of their logs, and every cell. It opens from disk with no network: charts are embedded as SVG data, styles
// inline, no script and no font from elsewhere.
import type { ClaimCheck, Verdict } from './claims/claimVerdict.ts';
import type { ReportCell } from './reportCell.ts';
import type { ReportTable } from './reportTable.ts';
import { type ReportSummary, summaryLines } from './reportSummary.ts';
import { escapeHtml, tableHtml } from './tableFormats.ts';

export interface RenderedChart {
  /** File stem: `chart-top1-vs-bits`. */
  id: string;
  title: string;
  svg: string;
}

export interface HtmlReportInput {
  name: string;
  storeRoot: string;
  generatedAt: string;
  summary: ReportSummary;
  paperTables: ReportTable[];
  cellTable: ReportTable;
  charts: RenderedChart[];
  claims: ClaimCheck[];
  cells: ReportCell[];
  /** Files that could not be read, and published entries that match no row. */
  problems: string[];
  unmatchedPublished: string[];
}

const STYLE = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.gain { color: #1a7f37; } td.loss { color: #b42318; }
.verdict { display: inline-block; padding: 0.1em 0.5em; border-radius: 0.6em; font-size: 0.85em; color: #fff; }
.supported { background: #1a7f37; } .contradicted { background: #b42318; } .not-enough-data { background: #8a8a8a; }
.chart img { max-width: 100%; height: auto; border: 1px solid #eee; } .notes { color: #555; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.8em; } section { margin-bottom: 1.5em; }
.scroll { overflow-x: auto; }
`;

function verdictBadge(v: Verdict): string {
  return `<span class="verdict ${v.replaceAll(' ', '-')}">${escapeHtml(v)}</span>`;
}

function summarySection(input: HtmlReportInput): string {
  const lines = summaryLines(input.summary).map((l) => `<li>${escapeHtml(l)}</li>`).join('\n');
  const verdicts = input.claims.map((c) => `<li>${verdictBadge(c.verdict)} <a href="#claim-${c.claim}">Claim ${c.claim}</a>: ` +
    `${escapeHtml(c.statement)}</li>`).join('\n');
  return `<section id="summary">\n<h2>Summary</h2>\n<ul>\n${lines}\n</ul>\n` +
    (verdicts ? `<h3>Claims of the paper</h3>\n<ul>\n${verdicts}\n</ul>\n` : '') + '</section>';
}

function chartSection(charts: RenderedChart[]): string {
  if (!charts.length) return '<section id="charts">\n<h2>Charts</h2>\n<p>No finished cells to chart yet.</p>\n</section>';
  const items = charts.map((c) => `<figure class="chart" id="${escapeHtml(c.id)}">\n<figcaption>${escapeHtml(c.title)}</figcaption>\n` +
    `<img alt="${escapeHtml(c.title)}" src="data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}">\n</figure>`);
  return `<section id="charts">\n<h2>Charts</h2>\n${items.join('\n')}\n</section>`;
}

function claimSection(claims: ClaimCheck[]): string {
  const items = claims.map((c) => {
    const parts = c.parts?.length ? `<ul>${c.parts.map((p) => `<li>${verdictBadge(p.verdict)} ${escapeHtml(p.name)}: ` +
      `${escapeHtml(p.summary)}</li>`).join('')}</ul>` : '';
    const missing = c.missing.length ? `<p>Missing: ${escapeHtml(c.missing.join('; '))}</p>` : '';
    const evidence = c.evidence.rows.length ? `<div class="scroll"><table><thead><tr>${c.evidence.columns.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}` +
      `</tr></thead><tbody>${c.evidence.rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v === null ? '-' : String(v))}</td>`).join('')}</tr>`).join('')}` +
      '</tbody></table></div>' : '';
    return `<article class="claim" id="claim-${c.claim}">\n<h3>Claim ${c.claim} ${verdictBadge(c.verdict)}</h3>\n` +
      `<p><em>${escapeHtml(c.statement)}</em></p>\n<p>${escapeHtml(c.summary)}</p>\n${parts}${missing}${evidence}\n</article>`;
  });
  return `<section id="claims">\n<h2>Claims</h2>\n${items.join('\n')}\n</section>`;
}

function failedSection(cells: ReportCell[], problems: string[], unmatched: string[]): string {
  const failed = cells.filter((c) => c.state === 'failed').map((c) => `<article class="failed">\n<h3>${escapeHtml(c.id)}</h3>\n` +
    `<p>${escapeHtml(c.failure?.error ?? 'failed')}</p>\n<pre>${escapeHtml(c.failure?.log || '(no worker log)')}</pre>\n</article>`);
  const body = [
    failed.length ? failed.join('\n') : '<p>No cell failed.</p>',
    problems.length ? `<h3>Files that could not be read</h3>\n<ul>${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : '',
    unmatched.length ? `<h3>Published numbers that match no row</h3>\n<ul>${unmatched.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : '',
  ].filter(Boolean).join('\n');
  return `<section id="failed">\n<h2>Failed cells and problems</h2>\n${body}\n</section>`;
}

/** The whole page. */
export function htmlReport(input: HtmlReportInput): string {
  const tables = input.paperTables.length ? input.paperTables.map((t) => `<div class="scroll">${tableHtml(t)}</div>`).join('\n')
    : '<p>No quantized students yet, so no paper table.</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`sqakd-bench report: ${input.name}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(`Report: ${input.name}`)}</h1>
<p class="meta">${escapeHtml(`Run store ${input.storeRoot}; generated ${input.generatedAt}.`)}</p>
${summarySection(input)}
<section id="tables">
<h2>Tables</h2>
${tables}
</section>
${chartSection(input.charts)}
${claimSection(input.claims)}
${failedSection(input.cells, input.problems, input.unmatchedPublished)}
<section id="cells">
<h2>Cells</h2>
<div class="scroll">${tableHtml(input.cellTable)}</div>
</section>
</body>
</html>
`;
}
