// Table 7 as a chart: in each setting, every feature-distillation method's mean top-1 run with CE and run without
// labels, side by side, with whiskers of ± 1 std where several seeds finished, and SQAKD's mean and the CE
// baseline's as horizontal rules across the panel; one panel per setting, three to a row.
import type { TopLevelSpec } from 'vega-lite';

import type { KdComparison } from '../kdComparison.ts';
import type { SeedStats } from '../seedStats.ts';
import { type ChartLayer, panelChart, partFilter } from './chartLayout.ts';
import { REFERENCE_DASH } from './chartTheme.ts';

const WITH_CE = 'with CE';
const LABEL_FREE = 'label-free';
const SQAKD_RULE = 'SQAKD (label-free)';
const CE_RULE = 'CE baseline';

function barRows(setting: string, method: string, variant: string, s: SeedStats | null): Record<string, unknown>[] {
  if (!s) return [];
  const bar = { part: 'bar', setting, method, variant, mean: s.mean, n: s.n };
  return s.std === null ? [bar] : [bar, { ...bar, part: 'error', lo: s.mean - s.std, hi: s.mean + s.std }];
}

/** The chart's bar, whisker and reference-rule layers; null when no feature method has a finished seed. */
export function kdComparisonChart(comparisons: KdComparison[]): TopLevelSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const k of comparisons) {
    const rows = k.rows.flatMap((r) => [
      ...barRows(k.label, r.method, WITH_CE, r.withLabels), ...barRows(k.label, r.method, LABEL_FREE, r.labelFree),
    ]);
    if (!rows.length) continue;
    values.push(...rows);
    if (k.sqakd) values.push({ part: 'rule', setting: k.label, reference: SQAKD_RULE, mean: k.sqakd.mean });
    if (k.ce) values.push({ part: 'rule', setting: k.label, reference: CE_RULE, mean: k.ce.mean });
  }
  if (!values.length) return null;
  const labels = [...new Set(values.map((v) => v.setting as string))];
  const methods = [...new Set(values.filter((v) => v.part === 'bar').map((v) => v.method as string))];

  const variants = [WITH_CE, LABEL_FREE];
  const yTitle = 'Test top-1 (%)';
  // Feature methods land within a point or two of each other; bars from zero would hide every difference the
  // table is about, so the axis starts near the lowest bar (the subtitle says so).
  const y = { field: 'mean', type: 'quantitative', title: yTitle, scale: { zero: false, padding: 8 }, stack: null } as const;
  const x = {
    field: 'method', type: 'nominal', title: 'Feature-distillation method', sort: methods, axis: { labelAngle: -30 },
  } as const;
  const color = {
    field: 'variant', type: 'nominal', title: 'Trained', scale: { domain: variants, range: ['#4c78a8', '#f58518'] },
  } as const;
  const xOffset = { field: 'variant', type: 'nominal', scale: { domain: variants } } as const;
  const bars: ChartLayer = {
    name: 'kdBars', transform: [partFilter('bar')], mark: { type: 'bar' },
    encoding: { x, xOffset, y, color },
  };
  const errorBars: ChartLayer = {
    name: 'kdErrorBars', transform: [partFilter('error')], mark: { type: 'rule', color: '#222', strokeWidth: 1 },
    encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } },
  };
  const references = [SQAKD_RULE, CE_RULE];
  const referenceRules: ChartLayer = {
    name: 'referenceRules', transform: [partFilter('rule')], mark: { type: 'rule', strokeWidth: 1.5 },
    encoding: {
      y: { field: 'mean', type: 'quantitative', title: yTitle },
      strokeDash: {
        field: 'reference', type: 'nominal', title: 'Reference',
        scale: { domain: references, range: [[1, 0], REFERENCE_DASH] }, legend: { symbolType: 'stroke' },
      },
      stroke: {
        field: 'reference', type: 'nominal', title: 'Reference', scale: { domain: references, range: ['#d62728', '#555'] },
      },
    },
  };
  // A layer without rows leaves vega an empty extent to warn about; only the bars always have some.
  const has = (part: string): boolean => values.some((v) => v.part === part);
  return panelChart({
    title: labels.length === 1 ? `${labels[0]}: feature distillation with and without labels` :
      'Feature distillation with and without labels',
    subtitle: 'Mean top-1 over finished seeds, whiskers ± 1 std; rules: SQAKD and the CE baseline; ' +
      'the y axis does not start at 0',
    values, width: 300, height: 200,
    facet: labels.length > 1 ? { field: 'setting', type: 'nominal', title: null, sort: labels } : null,
    columns: 3,
    // Datasets differ by tens of points; one shared axis would flatten the few points a panel is about.
    resolve: labels.length > 1 ? { scale: { y: 'independent' } } : undefined,
    layer: [bars, ...(has('error') ? [errorBars] : []), ...(has('rule') ? [referenceRules] : [])],
  });
}
