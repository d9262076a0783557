// The look every report chart shares. The font is one installed here, so the SVG and the PNG that resvg draws from
// the same system fonts set text alike; the background is white because a PNG has no page behind it.
import type { Config } from 'vega-lite';

/** The family resvg falls back to and every chart's text is set in. */
export const CHART_FONT = 'DejaVu Sans';

/** The Vega-Lite config of every report chart. */
export const CHART_CONFIG: Config = {
  font: `${CHART_FONT}, sans-serif`,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#eee' },
  header: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 220 },
  view: { stroke: '#ccc' },
};

/** The dash of a reference line (a teacher's top-1, a target); solid lines are measured curves. */
export const REFERENCE_DASH = [6, 4];
