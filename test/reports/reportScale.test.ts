// The report of a 1,000-cell store (generated here: two datasets, four architectures, six bit widths, every method
// with and without labels) is written in under 15 s on a 2-core machine, charts and PNGs included.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { METHODS } from '../../methods/registry.ts';
import { writeReport } from '../../reports/writeReport.ts';
import { finishCell, plannedStore } from './fixtureStore.ts';

const FEATURE = Object.values(METHODS).filter((m) => m.kind === 'feature');
const METHOD_AXIS = ['ce', 'kd', 'sqakd', ...FEATURE.map((m) => m.name), ...FEATURE.filter((m) => m.labelFree.possible).map((m) => `${m.name}:label-free`)];

describe('report at scale', () => {
  it('writes the report of a 1,000-cell store in under 15 s', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sqakd-report-scale-'));
    const { plan, store } = plannedStore(join(work, 'runs'), 'large', {
      grid: { dataset: ['cifar10', 'cifar100'], arch: ['resnet20', 'resnet32', 'vgg8', 'vgg13'], quantizer: 'ewgs',
        bits: ['W1A1', 'W2A2', 'W3A3', 'W4A4', 'W6A6', 'W8A8'], method: METHOD_AXIS },
      epochs: 30, teacherEpochs: 30,
    });
    expect(plan.cells.length).toBeGreaterThanOrEqual(1000);
    plan.cells.forEach((c, i) => finishCell(store, c, 50 + (i % 40), { imagesPerSecond: 300 + (i % 7) * 50 }));

    const start = performance.now();
    const report = await writeReport({ storeRoot: store.root, name: 'large', outDir: join(work, 'reports', 'large') });
    const seconds = (performance.now() - start) / 1000;
    console.log(`report of ${plan.cells.length} cells: ${seconds.toFixed(2)} s, ${report.files.length} files`);
    expect(report.summary.cells).toBe(plan.cells.length);
    expect(report.summary.states.finished).toBe(plan.cells.length);
    expect(readdirSync(report.dir).filter((f) => f.endsWith('.png'))).toHaveLength(4);
    expect(seconds).toBeLessThan(15);
  });
});
