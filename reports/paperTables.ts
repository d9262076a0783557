// The paper's tables regenerated from a store (SPEC section 4). Tables 4-6: a row per dataset, architecture and bit
// width, and for each quantizer the QAT method alone, with SQAKD, and the difference, beside the FP teacher. Table 7:
// in one setting, a row per KD method with CE and label-free, and SQAKD's margin over each, then the CE baseline, KD
// and SQAKD themselves. Settings the paper does not have (MNIST, the synthetic set) get the same layouts. Where a
// side has no finished cell, the table says what its cells are doing (running, failed, ...) instead of a number.
import type { KdComparison } from './kdComparison.ts';
import { type PublishedNumbers, type PublishedQuery } from './published.ts';
import type { QatPair } from './qatPairs.ts';
import type { CellState, ReportCell } from './reportCell.ts';
import { diffValue, type ReportTable, statsValue, type TableColumn, type TableValue } from './reportTable.ts';
import type { SeedStats } from './seedStats.ts';

const PAPER_TABLES: { table: string; datasets: string[]; archs?: string[] }[] = [
  { table: '4', datasets: ['cifar10', 'cifar100'] },
  { table: '5', datasets: ['tiny-imagenet'], archs: ['resnet18', 'vgg11bn', 'mobilenetv2'] },
  { table: '6', datasets: ['tiny-imagenet'], archs: ['shufflenetv2', 'squeezenet'] },
];

/** The paper's table a QAT setting belongs to ('4', '5', '6'), or null for a setting the paper does not have. */
export function paperTableOf(dataset: string, arch: string): string | null {
  return PAPER_TABLES.find((t) => t.datasets.includes(dataset) && (!t.archs || t.archs.includes(arch)))?.table ?? null;
}

/** A name as a file stem or column key: `cifar10-resnet20-ewgs-ste-w2a2`. */
export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

const STATE_ORDER: CellState[] = ['running', 'interrupted', 'failed', 'corrupt', 'not run'];

/** A side's top-1 over seeds, or, with nothing finished, what its cells are doing (`running`, `failed`, `no cell`). */
function sideValue(stats: SeedStats | null, cells: ReportCell[]): TableValue {
  if (stats) return statsValue(stats);
  if (!cells.length) return 'no cell';
  return STATE_ORDER.filter((s) => cells.some((c) => c.state === s)).join(', ');
}

/** Published value and ours minus it, for one measured side. */
function publishedPair(published: PublishedNumbers, q: PublishedQuery, ours: SeedStats | null): [TableValue, TableValue] {
  const value = published.value(q);
  return [value, value !== null && ours ? ours.mean - value : null];
}

const MEASURED_NOTE = 'Test top-1 (%): mean ± sample standard deviation over seeds (n); "1 seed" where only one ran. ' +
  'Differences are between means, ± the Welch standard error where both sides have several seeds.';

function unfinishedNote(cells: ReportCell[]): string[] {
  const open = cells.filter((c) => c.state !== 'finished');
  if (!open.length) return [];
  const counts = STATE_ORDER.map((s) => [s, open.filter((c) => c.state === s).length] as const).filter(([, n]) => n);
  return [`Not finished: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')} (${open.map((c) => c.id).join(', ')}).`];
}

/** Tables 4-6 (and the same layout for other datasets): one per paper table, or per dataset outside the paper. */
export function qatTables(pairs: QatPair[], published: PublishedNumbers): ReportTable[] {
  const groups = new Map<string, QatPair[]>();
  for (const p of pairs) {
    const id = paperTableOf(p.dataset, p.arch) ? `table${paperTableOf(p.dataset, p.arch)}` : `qat-${slug(p.dataset)}`;
    groups.set(id, [...(groups.get(id) ?? []), p]);
  }
  return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([id, group]) => {
    const table = paperTableOf(group[0].dataset, group[0].arch);
    const showPublished = table !== null && published.hasTable(table);
    const quantizers = [...new Map(group.map((p) => [`${p.quantizer}|${p.variant}`, p])).values()]
      .map((p) => ({ key: slug(p.variant === '-' || p.variant === 'default' ? p.quantizer : `${p.quantizer} ${p.variant}`),
        title: p.variant === 'default' ? p.quantizer : `${p.quantizer} (${p.variant})`, quantizer: p.quantizer, variant: p.variant }));
    const columns: TableColumn[] = [
      { key: 'dataset', title: 'dataset' }, { key: 'arch', title: 'arch' }, { key: 'bits', title: 'bits' },
      { key: 'teacher', title: 'FP teacher' },
      ...(showPublished ? [{ key: 'teacher_published', title: 'FP published' }] : []),
      ...quantizers.flatMap((q) => [
        { key: q.key, title: `${q.title} alone` },
        ...(showPublished ? [{ key: `${q.key}_published`, title: 'published' }, { key: `${q.key}_vs_published`, title: 'ours - published' }] : []),
        { key: `${q.key}_sqakd`, title: `${q.title} + SQAKD` },
        ...(showPublished ? [{ key: `${q.key}_sqakd_published`, title: 'published' },
          { key: `${q.key}_sqakd_vs_published`, title: 'ours - published' }] : []),
        { key: `${q.key}_delta`, title: 'SQAKD - alone' },
      ]),
    ];
    const rowKeys = [...new Map(group.map((p) => [`${p.dataset}|${p.arch}|${p.bits}`, p])).values()];
    const rows = rowKeys.map((first) => {
      const mine = group.filter((p) => p.dataset === first.dataset && p.arch === first.arch && p.bits === first.bits);
      const row: Record<string, TableValue> = { dataset: first.dataset, arch: first.arch, bits: first.bits };
      const teacher = mine.find((p) => p.teacher)?.teacher ?? null;
      row.teacher = teacher ? statsValue(teacher) : null;
      const query = { table: table ?? '', dataset: first.dataset, arch: first.arch, bits: first.bits };
      if (showPublished) row.teacher_published = published.value({ ...query, bits: 'FP32', quantizer: '', method: 'teacher' });
      for (const q of quantizers) {
        const p = mine.find((x) => x.quantizer === q.quantizer && x.variant === q.variant);
        row[q.key] = p ? sideValue(p.baseline, p.baselineCells) : null;
        row[`${q.key}_sqakd`] = p ? sideValue(p.sqakd, p.sqakdCells) : null;
        row[`${q.key}_delta`] = p?.diff ? diffValue(p.diff) : null;
        if (showPublished) {
          [row[`${q.key}_published`], row[`${q.key}_vs_published`]] =
            publishedPair(published, { ...query, quantizer: q.quantizer, method: 'ce' }, p?.baseline ?? null);
          [row[`${q.key}_sqakd_published`], row[`${q.key}_sqakd_vs_published`]] =
            publishedPair(published, { ...query, quantizer: q.quantizer, method: 'sqakd' }, p?.sqakd ?? null);
        }
      }
      return row;
    });
    const datasets = [...new Set(group.map((p) => p.dataset))].join(', ');
    const title = table ? `Table ${table}: QAT alone vs with SQAKD (${datasets})`
      : `QAT alone vs with SQAKD: ${datasets} (the layout of Tables 4-6; not a table of the paper)`;
    return {
      id, title, columns, rows,
      notes: [MEASURED_NOTE, '"alone" is the quantizer trained with CE on labels; "+ SQAKD" trains it on the teacher\'s soft ' +
        'outputs only (KL, no labels).', ...unfinishedNote(group.flatMap((p) => [...p.baselineCells, ...p.sqakdCells]))],
    };
  });
}

/** Whether a setting is one of the paper's two Table-7 settings. */
function isPaperTable7(c: KdComparison): boolean {
  const cell = c.cells[0];
  return (cell.dataset === 'cifar10' && cell.arch === 'resnet20' && cell.bits === 'W2A2') ||
    (cell.dataset === 'cifar100' && cell.arch === 'vgg13' && cell.bits === 'W1A1');
}

/** Table 7, one per setting that has feature-distillation students. */
export function kdTables(comparisons: KdComparison[], published: PublishedNumbers): ReportTable[] {
  const showPublished = published.hasTable('7');
  return comparisons.map((c) => {
    const cell = c.cells[0];
    const query = { table: '7', dataset: cell.dataset, arch: cell.arch, bits: cell.bits, quantizer: cell.quantizer };
    const of = (method: string, labelFree: boolean) => c.cells.filter((x) => x.method === method && x.labelFree === labelFree);
    const row = (method: string, withLabels: [SeedStats | null, ReportCell[]] | null, labelFree: [SeedStats | null, ReportCell[]] | null,
      margins: [TableValue, TableValue]): Record<string, TableValue> => {
      const r: Record<string, TableValue> = {
        method, with_ce: withLabels ? sideValue(...withLabels) : null, label_free: labelFree ? sideValue(...labelFree) : null,
        sqakd_minus_with_ce: margins[0], sqakd_minus_label_free: margins[1],
      };
      if (showPublished) {
        r.with_ce_published = withLabels ? published.value({ ...query, method }) : null;
        r.label_free_published = labelFree ? published.value({ ...query, method: method === 'sqakd' ? 'sqakd' : `${method}:label-free` }) : null;
      }
      return r;
    };
    const rows = [
      ...c.rows.map((r) => row(r.method, [r.withLabels, of(r.method, false)], [r.labelFree, of(r.method, true)],
        [r.sqakdMinusWithLabels ? diffValue(r.sqakdMinusWithLabels) : null, r.sqakdMinusLabelFree ? diffValue(r.sqakdMinusLabelFree) : null])),
      row('ce (QAT alone)', [c.ce, of('ce', false)], null, [null, null]),
      row('kd (CE + KL)', [c.kd, of('kd', false)], null, [null, null]),
      row('sqakd (KL only)', null, [c.sqakd, of('sqakd', true)], [null, null]),
    ];
    const columns: TableColumn[] = [
      { key: 'method', title: 'method' }, { key: 'with_ce', title: 'with CE' },
      ...(showPublished ? [{ key: 'with_ce_published', title: 'published' }] : []),
      { key: 'label_free', title: 'label-free' },
      ...(showPublished ? [{ key: 'label_free_published', title: 'published' }] : []),
      { key: 'sqakd_minus_with_ce', title: 'SQAKD - with CE' }, { key: 'sqakd_minus_label_free', title: 'SQAKD - label-free' },
    ];
    const teacher = c.teacher ? `${c.teacher.mean.toFixed(2)}${c.teacher.n > 1 ? ` (n=${c.teacher.n})` : ''}` : 'unknown';
    return {
      id: `table7-${slug(c.label)}`, columns, rows,
      title: `Table 7${isPaperTable7(c) ? '' : ' layout'}: KD methods on quantized students, ${c.label}`,
      notes: [MEASURED_NOTE, `FP teacher top-1: ${teacher}.`, '"with CE": the method\'s loss plus cross-entropy on labels, as ' +
        'the public code runs it; "label-free": the method\'s loss alone.', ...unfinishedNote(c.cells)],
    };
  });
}
