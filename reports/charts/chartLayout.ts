// A report chart is one figure however many settings a store holds: its layers drawn once, or once per panel of a
// facet, over one inline table. A facet cannot give its layers data of their own, so every row names the layer it
// belongs to in a `part` field and each layer keeps its own rows.
import type { TopLevelSpec } from 'vega-lite';

import { CHART_CONFIG } from './chartTheme.ts';

type LayeredSpec = Extract<TopLevelSpec, { layer: unknown }>;
type FacetedSpec = Extract<TopLevelSpec, { facet: unknown }>;

/** One layer of a chart (a unit spec: mark, encoding, transforms). */
export type ChartLayer = LayeredSpec['layer'][number];

/** The fields a chart is split into panels by: `{ row, column }` or one field wrapped at `columns`. */
export type ChartFacet = FacetedSpec['facet'];

export interface PanelChartParts {
  title: string;
  subtitle?: string;
  values: Record<string, unknown>[];
  layer: ChartLayer[];
  /** Of each panel, in pixels; a height `{ step }` grows with the rows of a band scale. */
  width: number;
  height: number | { step: number };
  /** Null or absent: a single panel. */
  facet?: ChartFacet | null;
  columns?: number;
  resolve?: LayeredSpec['resolve'];
}

/** The rows of one layer. */
export function partFilter(part: string): { filter: { field: string; equal: string } } {
  return { filter: { field: 'part', equal: part } };
}

/** The chart: the layers on the table, in one panel or in one per facet value. */
export function panelChart(p: PanelChartParts): TopLevelSpec {
  const title = p.subtitle ? { text: p.title, subtitle: p.subtitle } : { text: p.title };
  const common = { title, config: CHART_CONFIG, data: { values: p.values }, ...(p.resolve ? { resolve: p.resolve } : {}) };
  if (!p.facet) return { ...common, width: p.width, height: p.height, layer: p.layer };
  return {
    ...common, facet: p.facet, ...(p.columns ? { columns: p.columns } : {}),
    spec: { width: p.width, height: p.height, layer: p.layer },
  };
}
