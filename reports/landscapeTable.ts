// The sharpness of every cell that has a loss landscape, one row per cell and loss: the loss at the trained point,
// the Hessian's top eigenvalue and trace (with Hutchinson's standard error) and the mean rise on the circle. Beside
// the heat maps, it puts numbers on "KL-only is smoother" (claim 3).
import type { ReportCell } from './reportCell.ts';
import { settingLabel } from './reportCell.ts';
import type { ReportTable, TableValue } from './reportTable.ts';

/** The table; null when no cell has a landscape. */
export function landscapeTable(cells: ReportCell[]): ReportTable | null {
  const rows: Record<string, TableValue>[] = [];
  for (const c of cells) {
    if (!c.landscape) continue;
    for (const [loss, s] of Object.entries(c.landscape.sharpness)) {
      rows.push({
        setting: settingLabel(c), method: c.label, seed: String(c.seed), loss, centre: c.landscape.centre?.[loss] ?? null,
        top_eigenvalue: s.topEigenvalue, trace: s.trace ?? null, trace_se: s.traceStdError ?? null, circle_rise: s.circleRise ?? null,
      });
    }
  }
  if (!rows.length) return null;
  return {
    id: 'landscapes', title: 'Sharpness at the trained point (loss landscapes)', rows,
    columns: [
      { key: 'setting', title: 'setting' }, { key: 'method', title: 'method' }, { key: 'seed', title: 'seed' }, { key: 'loss', title: 'loss' },
      { key: 'centre', title: 'loss at centre' }, { key: 'top_eigenvalue', title: 'top Hessian eigenvalue' },
      { key: 'trace', title: 'Hessian trace' }, { key: 'trace_se', title: 'trace std error' }, { key: 'circle_rise', title: 'circle rise' },
    ],
    notes: ['From each cell\'s landscape.json (sqakd landscape): the Hessian over the filter weights (biases, batch norm and ' +
      'quantizer parameters fixed), by finite differences of gradients; the circle rise is the mean loss increase at the ' +
      'landscape\'s radius in the filter-normalised plane. Smaller is flatter.'],
  };
}
