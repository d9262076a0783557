// The matrix's results table says which quantizer variant each cell ran (EWGS as STE or with the Hessian delta,
// PACT's alpha learned or frozen, per-channel weights), measures each cell against the CE baseline of its own
// variant.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { csvTable, markdownTable, reportRows } from '../../../reports/matrixTable.ts';
import { quantizerVariant } from '../../../reports/quantizerVariant.ts';
import { readStoreCells } from '../../../reports/readStoreCells.ts';
import { validateMatrixSpec } from '../../../runs/matrix/matrixSpec.ts';
import { type MatrixCell, type MatrixPlan, planMatrix } from '../../../runs/matrix/plan.ts';
import { RunStore } from '../../../runs/matrix/runStore.ts';
import type { QuantizationConfig } from '../../../runs/trainConfig.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-table-'));

/** A cell of `base` with other quantizer settings, under an id of its own. */
function variantOf(base: MatrixCell, id: string, change: Partial<QuantizationConfig>): MatrixCell {
  return { ...base, id, config: { ...base.config, quantization: { ...base.config.quantization!, ...change } } };
}

function finish(store: RunStore, cell: MatrixCell, top1: number): void {
  mkdirSync(store.cellDir(cell.id), { recursive: true });
  writeFileSync(join(store.cellDir(cell.id), 'result.json'), JSON.stringify({
    config: cell.config, top1, top1Best: top1, teacherTop1: 90, labelsUsed: cell.config.method !== 'sqakd',
    imagesPerSecond: 100, wallSeconds: 10,
  }));
}

describe('matrix table', () => {
  it('names the quantizer variant of every kind of run', () => {
    const q: QuantizationConfig = { quantizer: 'ewgs', wBits: 2, aBits: 2, perChannelWeights: false, ewgsDelta: 0, pactTrainAlpha: true };
    expect(quantizerVariant(null)).toBe('-');
    expect(quantizerVariant(q)).toBe('STE');
    expect(quantizerVariant({ ...q, ewgsDelta: 'hessian' })).toBe('Hessian delta');
    expect(quantizerVariant({ ...q, ewgsDelta: 0.001, perChannelWeights: true })).toBe('delta 0.001, per-channel weights');
    expect(quantizerVariant({ ...q, quantizer: 'pact' })).toBe('learned alpha');
    expect(quantizerVariant({ ...q, quantizer: 'pact', pactTrainAlpha: false })).toBe('frozen alpha');
    expect(quantizerVariant({ ...q, quantizer: 'lsq' })).toBe('default');
    expect(quantizerVariant({ ...q, quantizer: 'dorefa', fullPrecision: ['conv1', 'fc'] })).toBe('full precision: conv1+fc');
  });

  it('shows the variant and compares each cell with the CE baseline of its own variant', () => {
    const base = planMatrix(validateMatrixSpec({
      grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] },
    }, 'variants'), { runsDir: join(work, 'runs'), dataDir: work });
    const [teacher, ce, sqakd] = base.cells;
    const ceHessian = variantOf(ce, 'ce-hessian', { ewgsDelta: 'hessian' });
    const sqakdHessian = variantOf(sqakd, 'sqakd-hessian', { ewgsDelta: 'hessian' });
    const plan: MatrixPlan = { ...base, cells: [teacher, ce, sqakd, ceHessian, sqakdHessian] };
    const store = new RunStore(plan.root);
    store.claim({ spec: {}, cells: plan.cells.map((c) => c.id) });
    for (const cell of plan.cells) store.prepare(cell);
    finish(store, teacher, 90);
    finish(store, ce, 60);
    finish(store, sqakd, 65);
    finish(store, ceHessian, 70);
    finish(store, sqakdHessian, 71.5);

    const rows = reportRows(readStoreCells(plan.root, plan.name).cells);
    expect(rows.map((r) => [r.method, r.quantizer, r.variant, r.deltaVsCe])).toEqual([
      ['teacher', 'none', '-', null], ['ce', 'ewgs', 'STE', 0], ['sqakd', 'ewgs', 'STE', 5],
      ['ce', 'ewgs', 'Hessian delta', 0], ['sqakd', 'ewgs', 'Hessian delta', 1.5],
    ]);
    expect(markdownTable(rows)).toMatch(/\| quantizer \| variant \| bits \|/);
    expect(markdownTable(rows)).toMatch(/\| ewgs \| Hessian delta \| W2A2 \| sqakd \| no \|/);
    expect(csvTable(rows).split('\n')[0]).toMatch(/^dataset,arch,quantizer,variant,bits,/);

  });
});
