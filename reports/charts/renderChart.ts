// Vega-Lite specs to pictures, headless in Node: the SVG that vega's string renderer writes (no browser, no canvas
// package), and a PNG of that SVG drawn by resvg with the system fonts. Specs carry their data inline, and the
// loader refuses every URL, so rendering a chart never reaches for the network or the disk.
import { Resvg } from '@resvg/resvg-js';
import { type Loader, parse, resetSVGDefIds, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import { CHART_FONT } from './chartTheme.ts';

function refuse(uri: string): Promise<never> {
  return Promise.reject(new Error(`report charts inline their data; refusing to load ${uri}`));
}

const NO_LOADS: Loader = { load: refuse, sanitize: refuse, http: refuse, file: refuse };

/** The spec drawn as an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = compile(spec).spec;
  // Vega logs a failed load and draws the chart without its data; a chart that silently lost its data is worse
  // than no chart, so a URL is an error here.
  const remote = vega.data?.find((d) => 'url' in d);
  if (remote) throw new Error(`chart data '${remote.name}' comes from a URL; report charts inline their data`);
  const view = new View(parse(vega), { renderer: 'none', loader: NO_LOADS, logLevel: Warn });
  try {
    // Clip-path and gradient ids come from module-wide counters; resetting them makes a chart's SVG the same
    // whatever was rendered before it in this process.
    resetSVGDefIds();
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG drawn as a PNG on white, `width` pixels wide (the SVG's own width by default), its aspect kept. */
export function renderPng(svg: string, options: { width?: number } = {}): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: options.width ? { mode: 'width', value: options.width } : { mode: 'original' },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
  });
  return resvg.render().asPng();
}
