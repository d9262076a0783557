// The report's charts: each drawn from a fixture store to SVG (valid XML, one mark per group the fixture holds,
// counted in the mark groups vega names after each layer) and to PNG (the asked size, not blank, text drawn), null
// for nothing to draw, the same SVG on every render, and a 1,000-cell store drawn quickly.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { convergenceChart } from '../../reports/charts/convergenceChart.ts';
import { kdComparisonChart } from '../../reports/charts/kdComparisonChart.ts';
import { renderPng, renderSvg } from '../../reports/charts/renderChart.ts';
import { THROUGHPUT_MAX_GROUPS, throughputChart } from '../../reports/charts/throughputChart.ts';
import { top1VsBitsChart } from '../../reports/charts/top1VsBitsChart.ts';
import { CONVERGENCE_METHODS, settingConvergence } from '../../reports/convergence.ts';
import { kdComparisons } from '../../reports/kdComparison.ts';
import { methodKey, type ReportCell, settingKey } from '../../reports/reportCell.ts';
import { fixtureCell } from './fixtureCells.ts';

interface StoreShape {
  datasets: string[];
  archs: string[];
  bits: string[];
  /** Method keys: `at:label-free` runs `at` without labels. */
  methods: string[];
  seeds: number[];
}

/** A store of finished cells, every combination of the shape, with top-1 and speed varying deterministically. */
function store(shape: StoreShape): ReportCell[] {
  const cells: ReportCell[] = [];
  let i = 0;
  for (const dataset of shape.datasets) {
    for (const arch of shape.archs) {
      cells.push(fixtureCell({ kind: 'teacher', dataset, arch, top1: 93 }));
      for (const bits of shape.bits) {
        for (const key of shape.methods) {
          const [method, form] = key.split(':');
          for (const seed of shape.seeds) {
            i += 1;
            const wBits = Number(/^W(\d+)/.exec(bits)![1]);
            cells.push(fixtureCell({
              dataset, arch, bits, method, labelFree: form === 'label-free' || undefined, seed,
              top1: 70 + 3 * wBits + (method === 'sqakd' ? 1 : 0) + ((i * 37) % 11) / 10,
              epochsPlanned: method === 'sqakd' ? 6 : 5, teacherTop1: 93,
              imagesPerSecond: 300 + ((i * 53) % 200), backend: seed % 2 ? 'libtorch' : 'tfjs-cpu',
            }));
          }
        }
      }
    }
  }
  return cells;
}

/** The small store most tests draw, with cells a chart must leave out and groups of one seed. */
function smallStore(): ReportCell[] {
  return [
    ...store({
      datasets: ['cifar10', 'cifar100'], archs: ['resnet20', 'vgg8'], bits: ['W4A4', 'W1A1', 'W2A2'],
      methods: ['ce', 'kd', 'sqakd', 'at', 'at:label-free', 'fitnet'], seeds: [1, 2],
    }),
    fixtureCell({ dataset: 'cifar10', arch: 'resnet20', bits: 'W2A2', method: 'nst', seed: 1, top1: 80 }),
    fixtureCell({ dataset: 'cifar10', arch: 'resnet20', bits: 'W2A2', method: 'nst', seed: 2, state: 'running' }),
    fixtureCell({ dataset: 'cifar10', arch: 'resnet20', bits: 'W2A2', method: 'vid', seed: 1, state: 'failed' }),
    fixtureCell({ dataset: 'cifar10', arch: 'resnet20', bits: 'W8A8', method: 'ce', seed: 1, state: 'not run' }),
    fixtureCell({ dataset: 'cifar10', arch: 'resnet20', bits: 'W2A2', method: 'sqakd', seed: 3, state: 'corrupt' }),
  ];
}

function distinct<T>(items: T[], key: (item: T) => string): number {
  return new Set(items.map(key)).size;
}

function finished(cells: ReportCell[]): ReportCell[] {
  return cells.filter((c) => c.state === 'finished');
}

function finishedStudents(cells: ReportCell[]): ReportCell[] {
  return finished(cells).filter((c) => c.kind === 'student');
}

/** Keys of the groups holding at least two cells. */
function multiSeed(cells: ReportCell[], key: (c: ReportCell) => string): number {
  const counts = new Map<string, number>();
  for (const c of cells) counts.set(key(c), (counts.get(key(c)) ?? 0) + 1);
  return [...counts.values()].filter((n) => n > 1).length;
}

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({ ignoreAttributes: false, preserveOrder: true, attributeNamePrefix: '' });

function tagOf(node: XmlNode): string {
  return Object.keys(node).find((k) => k !== ':@')!;
}

/**
 * The items of a named Vega-Lite layer: vega writes each mark as `<g class="mark-<type> role-mark <name>_marks">`
 * holding one element per item (a line series is a mark of its own, one `<path>` each; a facet repeats the group
 * per panel), so the count is the elements inside every such group.
 */
function markCount(svg: string, layer: string): number {
  const wanted = `${layer}_marks`;
  let count = 0;
  const visit = (nodes: XmlNode[]): void => {
    for (const node of nodes) {
      const tag = tagOf(node);
      if (tag === '#text') continue;
      const children = node[tag] as XmlNode[];
      const classes = (node[':@']?.class ?? '').split(' ');
      if (tag === 'g' && classes.includes('role-mark') && classes.includes(wanted)) {
        count += children.filter((c) => tagOf(c) !== '#text').length;
      } else {
        visit(children);
      }
    }
  };
  visit(parser.parse(svg) as XmlNode[]);
  return count;
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg [^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
  return { width: Number(m[1]), height: Number(m[2]) };
}

function distinctColours(png: PNG): number {
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) colours.add(png.data.readUInt32BE(i));
  return colours.size;
}

/** The PNG is `width` wide (the SVG's width if none), keeps the SVG's aspect, and is more than a blank page. */
function checkPng(svg: string, width?: number): PNG {
  const png = PNG.sync.read(renderPng(svg, width ? { width } : {}));
  const size = svgSize(svg);
  const expectedWidth = width ?? size.width;
  expect(Math.abs(png.width - expectedWidth)).toBeLessThan(1);
  expect(Math.abs(png.height - (size.height * expectedWidth) / size.width)).toBeLessThanOrEqual(1);
  expect(distinctColours(png)).toBeGreaterThan(10);
  return png;
}

async function checkedSvg(spec: Parameters<typeof renderSvg>[0] | null): Promise<string> {
  expect(spec).not.toBeNull();
  const svg = await renderSvg(spec!);
  expect(XMLValidator.validate(svg)).toBe(true);
  return svg;
}

// Any warning from vega-lite's compiler or vega's runtime means a spec asks for something that did not happen.
let warnings: ReturnType<typeof vi.spyOn>[] = [];
beforeEach(() => {
  warnings = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')];
});
afterEach(() => {
  const calls = warnings.flatMap((w) => w.mock.calls);
  for (const w of warnings) w.mockRestore();
  expect(calls).toEqual([]);
});

describe('top1VsBitsChart', () => {
  it('draws one point per dataset, arch, method and bits, a line per method and panel, whiskers and teachers', async () => {
    const cells = smallStore();
    const students = finishedStudents(cells);
    const group = (c: ReportCell): string => [c.dataset, c.arch, methodKey(c), c.bits].join('|');
    const svg = await checkedSvg(top1VsBitsChart(cells));
    expect(markCount(svg, 'top1Points')).toBe(distinct(students, group));
    expect(markCount(svg, 'top1Points')).toBe(2 * 2 * 3 * 6 + 1);
    expect(markCount(svg, 'top1Lines')).toBe(distinct(students, (c) => [c.dataset, c.arch, methodKey(c)].join('|')));
    expect(markCount(svg, 'top1ErrorBars')).toBe(multiSeed(students, group));
    expect(markCount(svg, 'teacherRules')).toBe(distinct(students, (c) => `${c.dataset}|${c.arch}`));
    // Bit widths run W1A1, W2A2, W4A4 whatever order the cells come in.
    const labels = [...svg.matchAll(/>(W\dA\d)<\/text>/g)].map((m) => m[1]);
    expect(labels.slice(0, 3)).toEqual(['W1A1', 'W2A2', 'W4A4']);
    checkPng(svg, 800);
  });

  it('draws a single panel, named in the title, for one dataset and architecture', async () => {
    const cells = store({
      datasets: ['cifar10'], archs: ['resnet20'], bits: ['W2A2', 'W4A4'], methods: ['ce', 'sqakd'], seeds: [1],
    });
    const spec = top1VsBitsChart(cells)!;
    expect('facet' in spec).toBe(false);
    const svg = await checkedSvg(spec);
    expect(markCount(svg, 'top1Points')).toBe(4);
    expect(markCount(svg, 'top1ErrorBars')).toBe(0);
    expect(svg).toContain('cifar10 resnet20: Top-1 against bit width');
    checkPng(svg);
  });

  it('keeps quantizers apart instead of averaging them', async () => {
    const cells = [
      fixtureCell({ quantizer: 'ewgs', method: 'sqakd', seed: 1 }),
      fixtureCell({ quantizer: 'pact', variant: 'learned alpha', method: 'sqakd', seed: 1, top1: 80 }),
    ];
    expect(markCount(await checkedSvg(top1VsBitsChart(cells)), 'top1Points')).toBe(2);
  });

  it('is null without a finished student', () => {
    expect(top1VsBitsChart([])).toBeNull();
    const unfinished = [fixtureCell({ kind: 'teacher' }), fixtureCell({ state: 'running' }), fixtureCell({ state: 'failed' })];
    expect(top1VsBitsChart(unfinished)).toBeNull();
  });
});

describe('convergenceChart', () => {
  it('draws a curve per method and setting, a target per setting, and where each method reaches it', async () => {
    const cells = smallStore();
    const settings = settingConvergence(cells);
    // Settings holding SQAKD and a baseline: every setting of the fixture, the running cell's setting included.
    const methods: readonly string[] = CONVERGENCE_METHODS;
    const compared = cells.filter((c) => c.kind === 'student' && c.curve.length && methods.includes(methodKey(c)));
    expect(settings.length).toBe(distinct(compared, settingKey));
    const svg = await checkedSvg(convergenceChart(settings));
    expect(markCount(svg, 'convergenceLines')).toBe(distinct(compared, (c) => `${settingKey(c)}|${methodKey(c)}`));
    expect(markCount(svg, 'targetRules')).toBe(distinct(compared, settingKey));
    const reached = settings.flatMap((s) => s.curves).filter((c) => c.epochsToTarget !== null).length;
    expect(reached).toBeGreaterThan(0);
    expect(markCount(svg, 'targetReached')).toBe(reached);
    checkPng(svg, 1000);
  });

  it('marks no epoch for a method that never reaches the target', async () => {
    const settings = [{
      setting: 's', label: 'cifar10 resnet20 ewgs (STE) W2A2', target: 50,
      curves: [
        { method: 'sqakd', seeds: 1, epochsToTarget: 2, points: [{ epoch: 1, top1: 40 }, { epoch: 2, top1: 60 }] },
        { method: 'ce', seeds: 1, epochsToTarget: null, points: [{ epoch: 1, top1: 20 }, { epoch: 2, top1: 30 }] },
      ],
    }];
    const svg = await checkedSvg(convergenceChart(settings));
    expect(markCount(svg, 'convergenceLines')).toBe(2);
    expect(markCount(svg, 'targetReached')).toBe(1);
    expect(markCount(svg, 'targetRules')).toBe(1);
  });

  it('is null without curves', () => {
    expect(convergenceChart([])).toBeNull();
    expect(convergenceChart(settingConvergence([fixtureCell({ method: 'sqakd', state: 'not run' })]))).toBeNull();
  });
});

describe('kdComparisonChart', () => {
  it('draws a bar per feature method and form, whiskers, and the SQAKD and CE rules per setting', async () => {
    const cells = smallStore();
    const features = finishedStudents(cells).filter((c) => !['ce', 'kd', 'sqakd'].includes(c.method));
    const bar = (c: ReportCell): string => `${settingKey(c)}|${methodKey(c)}`;
    const svg = await checkedSvg(kdComparisonChart(kdComparisons(cells)));
    expect(markCount(svg, 'kdBars')).toBe(distinct(features, bar));
    expect(markCount(svg, 'kdBars')).toBe(2 * 2 * 3 * 3 + 1);
    expect(markCount(svg, 'kdErrorBars')).toBe(multiSeed(features, bar));
    const settings = new Set(features.map(settingKey));
    const withRule = (method: string): number =>
      distinct(finishedStudents(cells).filter((c) => c.method === method && settings.has(settingKey(c))), settingKey);
    expect(markCount(svg, 'referenceRules')).toBe(withRule('sqakd') + withRule('ce'));
    checkPng(svg, 1200);
  });

  it('is null when no feature method has finished', () => {
    expect(kdComparisonChart([])).toBeNull();
    expect(kdComparisonChart(kdComparisons([fixtureCell({ method: 'sqakd' }), fixtureCell({ method: 'at', state: 'running' })])))
      .toBeNull();
  });
});

describe('throughputChart', () => {
  it('draws a bar per dataset, arch, bits, method and backend', async () => {
    const cells = smallStore().filter((c) => c.dataset === 'cifar10' && c.arch === 'resnet20');
    const bar = (c: ReportCell): string => [c.dataset, c.arch, c.bits, methodKey(c), c.backend].join('|');
    expect(distinct(finished(cells), bar)).toBeLessThanOrEqual(THROUGHPUT_MAX_GROUPS);
    const svg = await checkedSvg(throughputChart(cells));
    // Teachers train too: their bars are the FP32 ones.
    expect(markCount(svg, 'throughputBars')).toBe(distinct(finished(cells), bar));
    expect(svg).toContain('per architecture, bits and method');
    checkPng(svg, 900);
  });

  it(`drops the method past ${THROUGHPUT_MAX_GROUPS} groups and says so`, async () => {
    const cells = smallStore();
    const fine = (c: ReportCell): string => [c.dataset, c.arch, c.bits, methodKey(c)].join('|');
    expect(distinct(finished(cells), fine)).toBeGreaterThan(THROUGHPUT_MAX_GROUPS);
    const svg = await checkedSvg(throughputChart(cells));
    const coarse = (c: ReportCell): string => [c.dataset, c.arch, c.bits, c.backend].join('|');
    expect(markCount(svg, 'throughputBars')).toBe(distinct(finished(cells), coarse));
    expect(svg).toContain(`${distinct(finished(cells), fine)} groups of dataset, architecture, bits and method are too many`);
    checkPng(svg);
  });

  it('is null without a finished cell', () => {
    expect(throughputChart([])).toBeNull();
    expect(throughputChart([fixtureCell({ state: 'running' })])).toBeNull();
  });
});

describe('renderChart', () => {
  it('writes the same SVG for a spec whatever was rendered before', async () => {
    const spec = kdComparisonChart(kdComparisons(smallStore()))!;
    const first = await renderSvg(spec);
    await renderSvg(top1VsBitsChart(smallStore())!);
    expect(await renderSvg(spec)).toBe(first);
  });

  it('sets text in an installed font and resvg draws it', async () => {
    const svg = await renderSvg(top1VsBitsChart(smallStore())!);
    expect(svg).toContain('font-family="DejaVu Sans, sans-serif"');
    const withText = PNG.sync.read(renderPng(svg));
    const withoutText = PNG.sync.read(renderPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, '')));
    let differing = 0;
    for (let i = 0; i < withText.data.length; i += 4) {
      if (withText.data.readUInt32BE(i) !== withoutText.data.readUInt32BE(i)) differing += 1;
    }
    expect(differing).toBeGreaterThan(1000);
  });

  it('refuses data from a URL instead of drawing an empty chart', async () => {
    const fetch = vi.spyOn(globalThis, 'fetch');
    await expect(renderSvg({ data: { url: 'https://example.com/cells.json' }, mark: 'point' })).rejects.toThrow(/URL/);
    expect(fetch).not.toHaveBeenCalled();
    fetch.mockRestore();
  });

  it('draws every chart of a 1,000-cell store in well under 5 s', async () => {
    const cells = store({
      datasets: ['cifar10', 'cifar100', 'tinyimagenet'], archs: ['resnet20', 'vgg8', 'resnet32'],
      bits: ['W1A1', 'W2A2', 'W4A4', 'W8A8'],
      methods: ['ce', 'kd', 'sqakd', 'at', 'at:label-free', 'fitnet', 'fitnet:label-free', 'nst', 'crd', 'crd:label-free'],
      seeds: [1, 2, 3],
    });
    expect(cells.length).toBeGreaterThanOrEqual(1000);
    const times: string[] = [];
    const start = performance.now();
    const charts = {
      top1VsBits: () => top1VsBitsChart(cells), throughput: () => throughputChart(cells),
      convergence: () => convergenceChart(settingConvergence(cells)), kdComparison: () => kdComparisonChart(kdComparisons(cells)),
    };
    for (const [name, chart] of Object.entries(charts)) {
      const t = performance.now();
      renderPng(await checkedSvg(chart()));
      times.push(`${name} ${((performance.now() - t) / 1000).toFixed(2)} s`);
    }
    const seconds = (performance.now() - start) / 1000;
    console.info(`charts of ${cells.length} cells: ${seconds.toFixed(2)} s (${times.join(', ')})`);
    expect(seconds).toBeLessThan(5);
  });
});
