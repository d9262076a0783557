// Training speed: the mean training images per second of the finished cells, one horizontal bar per architecture,
// bits and method on each backend (a dataset prefix when the store holds several, since image sizes differ). Past
// THROUGHPUT_MAX_GROUPS groups it averages over methods per architecture and bits, and the subtitle says so.
import type { TopLevelSpec } from 'vega-lite';

import { methodKey, type ReportCell } from '../reportCell.ts';
import { seedStats } from '../seedStats.ts';
import { panelChart, partFilter } from './chartLayout.ts';

/** More groups than this and the chart drops the method from its groups. */
export const THROUGHPUT_MAX_GROUPS = 40;

interface Grouping {
  name: string;
  key: (c: ReportCell) => string[];
}

function group(cells: ReportCell[], grouping: Grouping): Map<string, ReportCell[]> {
  // Dataset, architecture, bit width (full precision last), then method, so related bars sit together.
  const order = [...cells].sort((a, b) => a.dataset.localeCompare(b.dataset) || a.arch.localeCompare(b.arch) ||
    (a.wBits ?? 99) - (b.wBits ?? 99) || (a.aBits ?? 99) - (b.aBits ?? 99) || methodKey(a).localeCompare(methodKey(b)));
  const out = new Map<string, ReportCell[]>();
  for (const c of order) {
    const key = grouping.key(c).join(' ');
    const list = out.get(key);
    if (list) list.push(c);
    else out.set(key, [c]);
  }
  return out;
}

/** The chart's bars; null without a finished cell that measured its speed. */
export function throughputChart(cells: ReportCell[]): TopLevelSpec | null {
  const timed = cells.filter((c) => c.state === 'finished' && c.imagesPerSecond !== null);
  if (!timed.length) return null;
  const datasets = new Set(timed.map((c) => c.dataset)).size > 1;
  const prefix = (c: ReportCell): string[] => (datasets ? [c.dataset, c.arch, c.bits] : [c.arch, c.bits]);
  const fine: Grouping = {
    name: datasets ? 'dataset, architecture, bits and method' : 'architecture, bits and method',
    key: (c) => [...prefix(c), c.label],
  };
  const coarse: Grouping = { name: datasets ? 'dataset, architecture and bits' : 'architecture and bits', key: prefix };
  const fineGroups = group(timed, fine);
  const grouping = fineGroups.size > THROUGHPUT_MAX_GROUPS ? coarse : fine;
  const groups = grouping === fine ? fineGroups : group(timed, coarse);

  const values: Record<string, unknown>[] = [];
  const backends = new Set<string>();
  for (const [name, mine] of groups) {
    const byBackend = new Map<string, number[]>();
    for (const c of mine) {
      const backend = c.backend ?? 'unknown';
      byBackend.set(backend, [...(byBackend.get(backend) ?? []), c.imagesPerSecond!]);
    }
    for (const [backend, speeds] of [...byBackend.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const s = seedStats(speeds)!;
      backends.add(backend);
      values.push({ part: 'bar', group: name, backend, imagesPerSecond: s.mean, n: s.n });
    }
  }
  const subtitle = grouping === coarse ?
    `Mean over seeds and methods: ${fineGroups.size} groups of ${fine.name} are too many to read ` +
      `(over ${THROUGHPUT_MAX_GROUPS}), so bars are per ${coarse.name}` :
    `Mean over seeds, per ${fine.name}`;
  return panelChart({
    title: 'Training throughput', subtitle, values, width: 420,
    // A fixed band per bar keeps every bar as thick as in any other store; the height follows the bar count.
    height: { step: 14 },
    layer: [{
      name: 'throughputBars', transform: [partFilter('bar')], mark: { type: 'bar' },
      encoding: {
        y: {
          // The subtitle names the grouping; a rotated title longer than a short chart would stick out of it.
          field: 'group', type: 'nominal', sort: [...groups.keys()], title: null, axis: { labelLimit: 260 },
        },
        ...(backends.size > 1 ? { yOffset: { field: 'backend', type: 'nominal' } } : {}),
        x: { field: 'imagesPerSecond', type: 'quantitative', title: 'Training throughput (images/s)' },
        color: { field: 'backend', type: 'nominal', title: 'Backend' },
      },
    }],
  });
}
