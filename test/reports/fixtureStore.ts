// Run stores on disk for the report tests: a matrix planned from a spec (so every cell.json is the real thing),
// with result.json, log.jsonl, failure.json and worker.lock files written as a matrix run would leave them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createLock, newOwner } from '../../runs/matrix/cellLock.ts';
import { validateMatrixSpec } from '../../runs/matrix/matrixSpec.ts';
import { type MatrixCell, type MatrixPlan, planMatrix } from '../../runs/matrix/plan.ts';
import { RunStore } from '../../runs/matrix/runStore.ts';

/** A planned matrix whose store holds matrix.json and every cell.json, nothing trained yet. */
export function plannedStore(runsDir: string, name: string, spec: Record<string, unknown>): { plan: MatrixPlan; store: RunStore } {
  const plan = planMatrix(validateMatrixSpec(spec, name), { runsDir, dataDir: join(runsDir, 'no-data'), missingData: 'warn' });
  const store = new RunStore(plan.root);
  store.claim({ spec, cells: plan.cells.map((c) => c.id) });
  for (const cell of plan.cells) store.prepare(cell);
  return { plan, store };
}

/** The epoch records of a run that rose linearly to `top1` over `epochs`. */
export function fixtureHistory(top1: number, epochs: number): Record<string, number>[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1, lr: 0.001, trainLoss: 1 / (i + 1), top1: (top1 * (i + 1)) / epochs, top5: 99, imagesPerSecond: 500, seconds: 10,
  }));
}

/** Writes a finished cell's result.json (the fields the trainer writes, with made-up numbers). */
export function finishCell(store: RunStore, cell: MatrixCell, top1: number, extra: { teacherTop1?: number; imagesPerSecond?: number } = {}): void {
  const q = cell.config.quantization;
  const epochs = cell.config.phase.epochs;
  writeFileSync(join(store.cellDir(cell.id), 'result.json'), JSON.stringify({
    method: cell.config.method, quantizer: q?.quantizer ?? 'none', arch: cell.config.arch, dataset: cell.config.dataset,
    wBits: q?.wBits ?? 32, aBits: q?.aBits ?? 32, epochs, top1, top1Best: top1 + 0.5, top5: 99,
    teacherTop1: cell.kind === 'teacher' ? null : extra.teacherTop1 ?? 95, labelsUsed: !cell.config.settings.labelFree,
    imagesPerSecond: extra.imagesPerSecond ?? 1000, wallSeconds: 60, backend: 'libtorch', seed: cell.config.seed,
    config: cell.config, environment: { backend: 'libtorch' }, history: fixtureHistory(top1, epochs),
  }));
}

/** A cell that a live worker (this process) is training: its lock, and `epochs` epochs in log.jsonl. */
export function runningCell(store: RunStore, cell: MatrixCell, top1s: number[]): void {
  mkdirSync(store.cellDir(cell.id), { recursive: true });
  createLock(join(store.cellDir(cell.id), 'worker.lock'), newOwner());
  writeFileSync(join(store.cellDir(cell.id), 'log.jsonl'),
    top1s.map((top1, i) => JSON.stringify({ epoch: i + 1, lr: 0.001, trainLoss: 1, top1, top5: 99, imagesPerSecond: 500, seconds: 10 })).join('\n') + '\n');
}
