// The report of a run store built from fixture results: a two-seed setting, a failed cell, a running cell with
// epochs only, and a corrupt result.json. Its tables hold the numbers this test computes from the fixtures, its CSV
// parses back to them, its charts are well-formed SVG and real PNGs, and bad input gets a clear answer.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'csv-parse/sync';
import { execa } from 'execa';
import { XMLValidator } from 'fast-xml-parser';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';

import type { MatrixCell } from '../../runs/matrix/plan.ts';
import type { RunStore } from '../../runs/matrix/runStore.ts';
import { readPublished } from '../../reports/published.ts';
import { writeReport, type WrittenReport } from '../../reports/writeReport.ts';
import { finishCell, plannedStore, runningCell } from './fixtureStore.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-report-'));
const runsDir = join(work, 'runs');

const SPEC = {
  grid: { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', bits: ['W2A2', 'W4A4'], method: ['ce', 'kd', 'sqakd', 'at', 'at:label-free'], seed: [1, 2] },
  epochs: 4, teacherEpochs: 4,
};

/** Top-1 of each finished student: method (with :label-free), bits, seed. */
const TOP1: Record<string, number> = {
  'ce W2A2 1': 80, 'ce W2A2 2': 82, 'sqakd W2A2 1': 84, 'sqakd W2A2 2': 85, 'kd W2A2 1': 83, 'kd W2A2 2': 83.5,
  'at W2A2 1': 78, 'at W2A2 2': 79, 'at:label-free W2A2 1': 70, 'at:label-free W2A2 2': 72,
  'ce W4A4 1': 88, 'ce W4A4 2': 89, 'sqakd W4A4 1': 90, 'kd W4A4 2': 89.5, 'at W4A4 1': 87, 'at:label-free W4A4 1': 85, 'at:label-free W4A4 2': 86,
};
// One teacher (seed 1) serves the students of both seeds.
const TEACHER = 92;

function keyOf(c: MatrixCell): string {
  const q = c.config.quantization!;
  const m = c.config.settings.labelFree && c.config.method !== 'sqakd' ? `${c.config.method}:label-free` : c.config.method;
  return `${m} W${q.wBits}A${q.aBits} ${c.config.seed}`;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const r2 = (x: number) => Number(x.toFixed(2));
/** The top Hessian eigenvalue of the two students' landscapes: the KL-only one is the flatter. */
const LANDSCAPE_EIGEN = { sqakd: 5, kd: 9 };

let store: RunStore;
let cells: MatrixCell[];
let report: WrittenReport;
const outDir = join(work, 'reports', 'fixture');

beforeAll(async () => {
  const planned = plannedStore(runsDir, 'fixture', SPEC);
  store = planned.store;
  cells = planned.plan.cells;
  for (const c of cells) {
    if (c.kind === 'teacher') finishCell(store, c, TEACHER);
    else if (TOP1[keyOf(c)] !== undefined) finishCell(store, c, TOP1[keyOf(c)], { teacherTop1: TEACHER });
  }
  const byKey = (k: string) => cells.find((c) => c.kind === 'student' && keyOf(c) === k)!;
  store.recordFailure(byKey('kd W4A4 1').id, 'the worker process exited with code 1');
  runningCell(store, byKey('sqakd W4A4 2'), [40, 60]);
  writeFileSync(join(store.cellDir(byKey('at W4A4 2').id), 'result.json'), '{"top1": 9');
  // Landscapes of the W2A2 SQAKD (KL only) and KD (CE + KL) students of seed 1, as sqakd landscape writes them.
  for (const [key, eigen] of [['sqakd W2A2 1', LANDSCAPE_EIGEN.sqakd], ['kd W2A2 1', LANDSCAPE_EIGEN.kd]] as const) {
    const grid = [[3, 2, 3], [2, 1, 2], [3, 2, 3]];
    const losses = { ce: grid, kl: grid, 'ce+kl': grid.map((r) => r.map((v) => 2 * v)) };
    writeFileSync(join(store.cellDir(byKey(key).id), 'landscape.json'), JSON.stringify({
      format: 1, grid: { n: 3, range: 1, a: [-1, 0, 1], b: [-1, 0, 1] }, losses, centre: { ce: 1, kl: 1, 'ce+kl': 2 },
      sharpness: Object.fromEntries(['ce', 'kl', 'ce+kl'].map((l) => [l, { topEigenvalue: eigen, trace: 10 * eigen, traceStdError: 1, circleRise: 0.5 }])),
    }));
  }
  const published = join(work, 'published.yaml');
  writeFileSync(published, [
    'entries:',
    '  - { paper: P, table: 4, dataset: cifar10, arch: resnet20, bits: W2A2, method: ce, value: 80.5 }',
    '  - { paper: P, table: 4, dataset: cifar10, arch: resnet20, bits: W2A2, method: sqakd, value: 86 }',
    '  - { paper: P, table: 4, dataset: cifar10, arch: resnet99, bits: W2A2, method: sqakd, value: 50 }',
    '  - { paper: P, table: 5, dataset: tiny-imagenet, arch: resnet18, bits: FP32, method: teacher, value: 65.59 }',
  ].join('\n'));
  report = await writeReport({ storeRoot: store.root, name: 'fixture', outDir, published, now: new Date('2026-01-01T00:00:00Z') });
});

function csvRows(file: string): Record<string, string>[] {
  return parse(readFileSync(join(outDir, file), 'utf8'), { columns: true });
}

describe('report of a fixture store', () => {
  it('regenerates Table 4 with means, spreads and seed counts computed from the fixtures', () => {
    const rows = csvRows('table4.csv');
    const w2 = rows.find((r) => r.bits === 'W2A2')!;
    const ce = [TOP1['ce W2A2 1'], TOP1['ce W2A2 2']];
    const sq = [TOP1['sqakd W2A2 1'], TOP1['sqakd W2A2 2']];
    expect(Number(w2['ewgs-ste'])).toBe(r2(mean(ce)));
    expect(Number(w2['ewgs-ste_std'])).toBe(r2(std(ce)));
    expect(Number(w2['ewgs-ste_n'])).toBe(2);
    expect(Number(w2['ewgs-ste_sqakd'])).toBe(r2(mean(sq)));
    expect(Number(w2['ewgs-ste_delta'])).toBe(r2(mean(sq) - mean(ce)));
    expect(Number(w2['ewgs-ste_delta_se'])).toBe(r2(Math.sqrt(std(sq) ** 2 / 2 + std(ce) ** 2 / 2)));
    expect(Number(w2.teacher)).toBe(TEACHER);
    expect(Number(w2.teacher_n)).toBe(1);
    // Published numbers sit beside ours with the difference.
    expect(Number(w2['ewgs-ste_published'])).toBe(80.5);
    expect(Number(w2['ewgs-ste_vs_published'])).toBe(r2(mean(ce) - 80.5));
    expect(Number(w2['ewgs-ste_sqakd_vs_published'])).toBe(r2(mean(sq) - 86));
    // W4A4: SQAKD's second seed is still running: one seed, said so.
    const w4 = rows.find((r) => r.bits === 'W4A4')!;
    expect(Number(w4['ewgs-ste_sqakd'])).toBe(TOP1['sqakd W4A4 1']);
    expect(w4['ewgs-ste_sqakd_std']).toBe('');
    expect(Number(w4['ewgs-ste_sqakd_n'])).toBe(1);
    const md = readFileSync(join(outDir, 'table4.md'), 'utf8');
    expect(md).toContain(`| ${mean(ce).toFixed(2)} ± ${std(ce).toFixed(2)} (n=2) |`);
    expect(md).toContain(`| ${TOP1['sqakd W4A4 1'].toFixed(2)} (1 seed) |`);
    expect(md).toMatch(/Not finished: 1 running \(sqakd-ewgs-w4a4-[^)]*-s2-/);
  });

  it('regenerates Table 7 with and without labels, and marks the failed side', () => {
    const rows = csvRows('table7-cifar10-resnet20-ewgs-ste-w2a2.csv');
    const at = rows.find((r) => r.method === 'at')!;
    expect(Number(at.with_ce)).toBe(r2(mean([78, 79])));
    expect(Number(at.label_free)).toBe(r2(mean([70, 72])));
    expect(Number(at.sqakd_minus_with_ce)).toBe(r2(mean([84, 85]) - mean([78, 79])));
    expect(Number(rows.find((r) => r.method.startsWith('kd'))!.with_ce)).toBe(r2(mean([83, 83.5])));
    const w4 = csvRows('table7-cifar10-resnet20-ewgs-ste-w4a4.csv');
    // kd W4A4: seed 1 failed, seed 2 finished: the number stands on one seed.
    expect(Number(w4.find((r) => r.method.startsWith('kd'))!.with_ce_n)).toBe(1);
    // at W4A4 with labels: seed 1 finished, seed 2's result.json is corrupt.
    expect(Number(w4.find((r) => r.method === 'at')!.with_ce)).toBe(TOP1['at W4A4 1']);
  });

  it('puts the landscapes\' sharpness in a table and into claim 3', () => {
    const rows = csvRows('landscapes.csv');
    expect(rows).toHaveLength(2 * 3);
    expect(rows.filter((r) => r.loss === 'kl').map((r) => Number(r.top_eigenvalue)).sort()).toEqual([LANDSCAPE_EIGEN.sqakd, LANDSCAPE_EIGEN.kd]);
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const claim3 = html.slice(html.indexOf('id="claim-3"'), html.indexOf('id="claim-4"'));
    // SQAKD's KL eigenvalue 5 against KD's CE + KL eigenvalue 9: the KL-only student is the smoother in that setting.
    expect(claim3).toMatch(/landscape/);
    expect(claim3).toContain(`<td>${LANDSCAPE_EIGEN.sqakd}</td><td>${LANDSCAPE_EIGEN.kd}</td>`);
  });

  it('names the corrupt result.json and still reports every readable cell', () => {
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/at-ewgs-w4a4-.*-s2-.*result\.json/);
    const records = JSON.parse(readFileSync(join(outDir, 'cells.json'), 'utf8')) as { cell: string; state: string; result?: { top1: number } }[];
    expect(records).toHaveLength(cells.length);
    const states = records.map((r) => r.state);
    expect(states.filter((s) => s === 'finished')).toHaveLength(Object.keys(TOP1).length + 1);
    expect(states.filter((s) => s === 'corrupt')).toHaveLength(1);
    expect(states.filter((s) => s === 'running')).toHaveLength(1);
    expect(states.filter((s) => s === 'failed')).toHaveLength(1);
    // The flat CSV has every result field, flattened, and parses back to the same numbers.
    const flat = csvRows('cells.csv');
    const ceCell = cells.find((c) => c.kind === 'student' && keyOf(c) === 'ce W2A2 1')!;
    const row = flat.find((r) => r.cell === ceCell.id)!;
    expect(Number(row['result.top1'])).toBe(TOP1['ce W2A2 1']);
    expect(Number(row['result.config.phase.model.lr'])).toBe(ceCell.config.phase.model.lr);
    expect(row['result.backend']).toBe('libtorch');
  });

  it('writes the summary, the claims, the failed cell with its log and the unmatched published entry into index.html', () => {
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    for (const id of ['summary', 'tables', 'charts', 'claims', 'failed', 'cells']) expect(html).toContain(`<section id="${id}">`);
    expect(html).toMatch(/21 cells: 18 finished, 1 running, 1 failed, 1 corrupt\./);
    expect(html).toContain('the worker process exited with code 1');
    // An entry of a table the report has that matches no row is named; those of other tables are counted.
    expect(html).toContain('P table 4: cifar10 resnet99 W2A2 ewgs sqakd = 50');
    expect(html).toContain('1 entry for table(s) this report does not have (5)');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(report.summary.completePairs).toBe(2);
  });

  it('writes every chart as well-formed SVG and as a PNG with content', () => {
    const svgs = readdirSync(outDir).filter((f) => f.endsWith('.svg'));
    expect(svgs.sort()).toEqual(['chart-convergence.svg', 'chart-kd-methods.svg', 'chart-landscapes.svg', 'chart-throughput.svg',
      'chart-top1-vs-bits.svg']);
    // The landscape heat maps: 2 students x 3 losses x 9 grid points.
    const heat = readFileSync(join(outDir, 'chart-landscapes.svg'), 'utf8');
    expect(heat.match(/<path[^>]*aria-roledescription="rect mark"/g)?.length ?? 0).toBe(2 * 3 * 9);
    for (const svg of svgs) {
      expect(XMLValidator.validate(readFileSync(join(outDir, svg), 'utf8'))).toBe(true);
      const png = PNG.sync.read(readFileSync(join(outDir, svg.replace(/\.svg$/, '.png'))));
      expect(png.width).toBeGreaterThan(100);
      expect(png.height).toBeGreaterThan(100);
      const first = png.data.readUInt32BE(0);
      let differing = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data.readUInt32BE(i) !== first) differing++;
      expect(differing).toBeGreaterThan(100);
    }
  });
});

describe('report bad input', () => {
  const cli = (args: string[]) => execa('node', ['bin/sqakd.js', 'report', ...args], { reject: false });

  it('lists the matrices there are when the one named does not exist', async () => {
    const r = await cli(['fixtur', '--runs-dir', runsDir, '--reports-dir', join(work, 'cli-reports')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no matrix 'fixtur' in .*\(did you mean 'fixture'\?\) \(matrices there: fixture\)/);
  });

  it('refuses a published-numbers file with a bad entry, naming its place, before a matrix trains', async () => {
    const bad = join(work, 'bad-published.yaml');
    writeFileSync(bad, 'entries:\n  - { paper: P, table: 4, dataset: cifar10, arch: resnet20, bits: W2, method: ce, value: 80 }\n');
    expect(() => readPublished(bad)).toThrow(/bad-published\.yaml: entries\[0\]\.bits: must be a bit width like W2A2 or FP32, got "W2"/);
    // A matrix refuses it before training anything (exit 2, one line, no store written).
    const refused = await execa('node', ['bin/sqakd.js', 'matrix', '--preset', 'smoke', '--published', bad, '--runs-dir', join(work, 'never'),
      '--reports-dir', join(work, 'never-reports')], { reject: false });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/entries\[0\]\.bits/);
    expect(existsSync(join(work, 'never'))).toBe(false);
    // The shipped template reads.
    expect(readPublished(join(import.meta.dirname, '../../reports/published.yaml')).entries.length).toBeGreaterThan(0);
  });

  it('reports an empty store as empty', async () => {
    const empty = plannedStore(runsDir, 'empty', { grid: { dataset: 'mnist', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce'] } });
    // A store whose matrix lists no cells (claimed, nothing planned).
    empty.store.claim({ spec: {}, cells: [] });
    const out = join(work, 'reports', 'empty');
    const written = await writeReport({ storeRoot: empty.store.root, name: 'empty', outDir: out });
    expect(written.summary.cells).toBe(0);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('The store holds no cells yet');
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toContain('The store holds no cells yet');
  });

  it("never writes into the reporting code's own folders, even with --force", async () => {
    const charts = join(import.meta.dirname, '../../reports/charts');
    await expect(writeReport({ storeRoot: store.root, name: 'charts', outDir: charts, force: true })).rejects.toThrow(/reporting code/);
    expect(readdirSync(charts).filter((f) => f.endsWith('.ts')).length).toBeGreaterThan(3);
  });

  it('refuses a report folder holding a file it did not write, and keeps the file', async () => {
    const out = join(work, 'reports', 'taken');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'notes.md'), 'mine');
    await expect(writeReport({ storeRoot: store.root, name: 'fixture', outDir: out })).rejects.toThrow(/notes\.md/);
    expect(readFileSync(join(out, 'notes.md'), 'utf8')).toBe('mine');
  });
});
