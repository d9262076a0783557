// Top-1 against bit width (Figure 1 of the report): each method's mean test top-1 over its finished seeds at every
// bit width, one line per method, mean ± std where several seeds finished, and the full-precision teacher as a
// dashed rule; one panel per architecture (columns) and dataset (rows), or a single panel when the store has one.
import type { TopLevelSpec } from 'vega-lite';

import { teacherStats } from '../qatPairs.ts';
import { methodKey, type ReportCell } from '../reportCell.ts';
import { seedStats } from '../seedStats.ts';
import { type ChartFacet, type ChartLayer, panelChart, partFilter } from './chartLayout.ts';
import { REFERENCE_DASH } from './chartTheme.ts';

const TEACHER_REFERENCE = 'teacher (FP32)';

function quantizerLabel(c: ReportCell): string {
  return c.variant === 'default' || c.variant === '-' ? c.quantizer : `${c.quantizer} (${c.variant})`;
}

/** The chart's point, line, error-bar and teacher layers; null without a finished quantized student. */
export function top1VsBitsChart(cells: ReportCell[]): TopLevelSpec | null {
  const students = cells.filter((c) => c.kind === 'student' && c.state === 'finished' && c.top1 !== null && c.wBits !== null);
  if (!students.length) return null;
  const quantizers = [...new Set(students.map(quantizerLabel))].sort();
  // Averaging seeds of different quantizers would mix two experiments, so each quantizer gets its own line, told
  // apart by point shape when there are several (colour stays the method's).
  const groups = new Map<string, ReportCell[]>();
  for (const c of students) {
    const key = [c.dataset, c.arch, quantizerLabel(c), methodKey(c), c.bits].join('|');
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  const values: Record<string, unknown>[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    const s = seedStats(group.map((c) => c.top1!))!;
    const row = {
      dataset: first.dataset, arch: first.arch, quantizer: quantizerLabel(first), method: first.label,
      series: `${quantizerLabel(first)} ${methodKey(first)}`, bits: first.bits, wBits: first.wBits, mean: s.mean, n: s.n,
    };
    values.push({ part: 'point', ...row });
    if (s.std !== null) values.push({ part: 'error', ...row, lo: s.mean - s.std, hi: s.mean + s.std });
  }
  const teachers = cells.filter((c) => c.kind === 'teacher');
  const panels = [...new Set(students.map((c) => `${c.dataset}|${c.arch}`))].sort();
  for (const panel of panels) {
    const mine = students.filter((c) => `${c.dataset}|${c.arch}` === panel);
    const teacher = teacherStats(mine, teachers);
    if (!teacher) continue;
    const { dataset, arch } = mine[0];
    values.push({ part: 'teacher', dataset, arch, reference: TEACHER_REFERENCE, mean: teacher.mean });
  }

  const bitsOrder = [...new Map(students.map((c) => [c.bits, [c.wBits!, c.aBits ?? 0]] as const)).entries()]
    .sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([bits]) => bits);
  const datasets = new Set(students.map((c) => c.dataset));
  const archs = new Set(students.map((c) => c.arch));
  const x = {
    field: 'bits', type: 'ordinal', sort: bitsOrder, title: 'Bit width (weights / activations)', axis: { labelAngle: 0 },
  } as const;
  const yTitle = 'Test top-1 (%)';
  const y = { field: 'mean', type: 'quantitative', scale: { zero: false, padding: 8 }, title: yTitle } as const;
  // Past ten methods the default palette repeats colours; tableau20 pairs each hue with a lighter one.
  const scheme = new Set(students.map((c) => c.label)).size > 10 ? 'tableau20' : 'tableau10';
  const color = { field: 'method', type: 'nominal', title: 'Method', scale: { scheme } } as const;
  const shape = quantizers.length > 1 ? { shape: { field: 'quantizer', type: 'nominal', title: 'Quantizer' } as const } : {};
  const facet: ChartFacet | null = datasets.size > 1 || archs.size > 1 ? {
    ...(datasets.size > 1 ? { row: { field: 'dataset', type: 'nominal', title: 'Dataset' } as const } : {}),
    ...(archs.size > 1 ? { column: { field: 'arch', type: 'nominal', title: 'Architecture' } as const } : {}),
  } : null;
  const only = facet ? '' : `${[...datasets][0]} ${[...archs][0]}: `;

  const lines: ChartLayer = {
    name: 'top1Lines', transform: [partFilter('point')], mark: { type: 'line', strokeWidth: 1.5 },
    encoding: { x, y, color, detail: { field: 'series', type: 'nominal' }, order: { field: 'wBits', type: 'quantitative' } },
  };
  const errorBars: ChartLayer = {
    name: 'top1ErrorBars', transform: [partFilter('error')], mark: { type: 'rule', strokeWidth: 1.5 },
    encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, color },
  };
  const points: ChartLayer = {
    name: 'top1Points', transform: [partFilter('point')], mark: { type: 'point', filled: true, size: 50, opacity: 1 },
    encoding: { x, y, color, ...shape },
  };
  const teacherRules: ChartLayer = {
    name: 'teacherRules', transform: [partFilter('teacher')], mark: { type: 'rule', color: '#555', strokeWidth: 1.5 },
    encoding: {
      y: { field: 'mean', type: 'quantitative', title: yTitle },
      strokeDash: {
        field: 'reference', type: 'nominal', title: 'Reference', scale: { domain: [TEACHER_REFERENCE], range: [REFERENCE_DASH] },
        legend: { symbolType: 'stroke', symbolStrokeWidth: 1.5 },
      },
    },
  };
  // A layer without rows leaves vega an empty extent to warn about; only the points always have some.
  const has = (part: string): boolean => values.some((v) => v.part === part);

  return panelChart({
    title: `${only}Top-1 against bit width`,
    subtitle: 'Mean over finished seeds; whiskers: ± 1 std where more than one seed finished; dashed: the FP32 teacher',
    values, facet, width: 220, height: 180,
    // Datasets differ by tens of points; one shared axis would flatten the differences between methods.
    resolve: facet ? { scale: { y: 'independent' } } : undefined,
    layer: [lines, ...(has('error') ? [errorBars] : []), points, ...(has('teacher') ? [teacherRules] : [])],
  });
}
