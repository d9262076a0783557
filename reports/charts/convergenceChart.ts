// Convergence (claim 2 of SPEC section 6): in each setting, the test top-1 per epoch of SQAKD, the CE baseline and
// KD (each the mean over its seeds), the setting's target accuracy as a dashed rule, and a mark where each method's
// curve first reaches it; one panel per setting, three to a row. A static chart: no tooltips, no selections.
import type { TopLevelSpec } from 'vega-lite';

import { CONVERGENCE_METHODS, CONVERGENCE_TARGET_FRACTION, type SettingConvergence } from '../convergence.ts';
import { panelChart, partFilter } from './chartLayout.ts';
import { REFERENCE_DASH } from './chartTheme.ts';

/** How each of CONVERGENCE_METHODS is named in the legend. */
export const CONVERGENCE_METHOD_LABELS: Record<(typeof CONVERGENCE_METHODS)[number], string> = {
  sqakd: 'SQAKD (KL, no labels)',
  ce: 'CE (QAT baseline)',
  kd: 'KD (CE + KL)',
};

const TARGET_REFERENCE = 'target';

function methodLabel(method: string): string {
  return CONVERGENCE_METHOD_LABELS[method as keyof typeof CONVERGENCE_METHOD_LABELS] ?? method;
}

/** The chart's curve, target and epochs-to-target layers; null when no setting has a curve. */
export function convergenceChart(settings: SettingConvergence[]): TopLevelSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const s of settings) {
    if (!s.curves.some((c) => c.points.length)) continue;
    values.push({ part: 'target', setting: s.label, top1: s.target, reference: TARGET_REFERENCE });
    for (const c of s.curves) {
      const method = methodLabel(c.method);
      for (const p of c.points) values.push({ part: 'curve', setting: s.label, method, epoch: p.epoch, top1: p.top1 });
      const reached = c.points.find((p) => p.epoch === c.epochsToTarget);
      if (reached) values.push({ part: 'reached', setting: s.label, method, epoch: reached.epoch, top1: reached.top1 });
    }
  }
  if (!values.length) return null;
  const labels = [...new Set(values.map((v) => v.setting as string))];

  const x = { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } } as const;
  // Not from zero: curves a few points apart would be one line at the top of a 0-100 axis.
  const y = { field: 'top1', type: 'quantitative', title: 'Test top-1 (%)', scale: { zero: false } } as const;
  const color = {
    field: 'method', type: 'nominal', title: 'Method',
    scale: { domain: CONVERGENCE_METHODS.map(methodLabel) },
  } as const;
  return panelChart({
    title: labels.length === 1 ? `${labels[0]}: convergence` : 'Convergence of SQAKD against CE and KD',
    subtitle: `Mean over seeds per epoch; dashed: the target, ${Math.round(CONVERGENCE_TARGET_FRACTION * 100)}% of the ` +
      'lowest best top-1 among the methods; points: the first epoch each method reaches it',
    values, width: 240, height: 170,
    facet: labels.length > 1 ? { field: 'setting', type: 'nominal', title: null, sort: labels } : null,
    columns: 3,
    layer: [
      {
        name: 'convergenceLines', transform: [partFilter('curve')], mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color, order: { field: 'epoch', type: 'quantitative' } },
      },
      {
        name: 'targetRules', transform: [partFilter('target')], mark: { type: 'rule', color: '#555', strokeWidth: 1 },
        encoding: {
          y,
          strokeDash: {
            field: 'reference', type: 'nominal', title: 'Reference',
            scale: { domain: [TARGET_REFERENCE], range: [REFERENCE_DASH] }, legend: { symbolType: 'stroke' },
          },
        },
      },
      {
        name: 'targetReached', transform: [partFilter('reached')],
        mark: { type: 'point', filled: true, size: 60, opacity: 1, stroke: 'white', strokeWidth: 1 },
        encoding: { x, y, color },
      },
    ],
  });
}
