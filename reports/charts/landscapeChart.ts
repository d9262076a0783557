// Loss landscapes (claim 3 of SPEC section 6) side by side: for every cell with a 2-D landscape.json, one heat map
// per loss over the (a, b) grid, rows the cells, columns the losses. Losses differ by orders of magnitude, so each
// panel shows the rise above its own trained point as a fraction of its largest rise: the shape (a narrow valley
// or a wide one) is what students are compared by; the sharpness table beside it has the absolute numbers.
import type { TopLevelSpec } from 'vega-lite';

import { type ReportCell, settingLabel } from '../reportCell.ts';
import { panelChart } from './chartLayout.ts';

/** The losses drawn, in this order, where a landscape has them. */
const LOSSES = ['ce', 'kl', 'ce+kl'];

/** The heat maps; null when no cell has a 2-D landscape. */
export function landscapeChart(cells: ReportCell[]): TopLevelSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const c of cells) {
    const l = c.landscape;
    if (!l?.grid || !l.losses || l.grid.b.length < 2) continue;
    const row = `${c.label} (seed ${c.seed})\n${settingLabel(c)}`;
    for (const loss of LOSSES.filter((x) => l.losses![x])) {
      const grid = l.losses[loss];
      const flat = grid.flat().filter(Number.isFinite);
      const centre = l.centre?.[loss] ?? Math.min(...flat);
      const top = Math.max(...flat) - centre;
      grid.forEach((line, j) => line.forEach((v, i) => values.push({
        part: 'cell', cell: row, loss, a: l.grid!.a[i], b: l.grid!.b[j], rise: top > 0 ? Math.max(0, (v - centre) / top) : 0,
      })));
    }
  }
  if (!values.length) return null;
  const rows = [...new Set(values.map((v) => v.cell as string))];
  return panelChart({
    title: 'Loss landscapes around the trained students',
    subtitle: 'Rise above the trained point (centre) as a fraction of each panel\'s largest rise; a, b: filter-normalised directions',
    values, width: 160, height: 160,
    facet: {
      // Row names are long (setting, method, seed): written level, not rotated along the panel.
      row: { field: 'cell', type: 'nominal', title: null, sort: rows, header: { labelAngle: 0, labelAlign: 'left', labelLimit: 0, labelExpr: "split(datum.label, '\\n')" } },
      column: { field: 'loss', type: 'nominal', title: null, sort: LOSSES } },
    layer: [{
      name: 'landscapeCells', mark: { type: 'rect' },
      encoding: {
        x: { field: 'a', type: 'ordinal', title: 'a (d1)', axis: { format: '.2f', labelAngle: 0, labelOverlap: true } },
        y: { field: 'b', type: 'ordinal', title: 'b (d2)', sort: 'descending', axis: { format: '.2f', labelOverlap: true } },
        color: { field: 'rise', type: 'quantitative', title: 'Rise (fraction)', scale: { scheme: 'viridis', domain: [0, 1] } },
      },
    }],
  });
}
