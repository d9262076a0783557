// The scheduler with a stand-in executor: a cell another live worker holds is not failed but waits and is tried
// again; the local pool leaves a cell with a live lock alone instead of starting a worker that could only wait.
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CellExecutor, CellOutcome } from '../../../runs/matrix/cellExecutor.ts';
import { LocalPool } from '../../../runs/matrix/localPool.ts';
import { validateMatrixSpec } from '../../../runs/matrix/matrixSpec.ts';
import { type MatrixCell, planMatrix } from '../../../runs/matrix/plan.ts';
import { LOCK_FILE, RunStore } from '../../../runs/matrix/runStore.ts';
import { type MatrixSnapshot, runMatrix } from '../../../runs/matrix/scheduler.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-scheduler-'));

function smallPlan(name: string) {
  const spec = validateMatrixSpec({
    name, grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] },
  }, name);
  return planMatrix(spec, { runsDir: join(work, 'runs'), dataDir: work });
}

/** Finishes a cell as a worker would: its result.json with its configuration. */
function finish(store: RunStore, cell: MatrixCell): void {
  writeFileSync(join(store.cellDir(cell.id), 'result.json'), JSON.stringify({ config: cell.config, top1: 50, wallSeconds: 1 }));
}

describe('scheduler', () => {
  it('waits for a cell another live worker holds instead of failing it, then runs it', async () => {
    const plan = smallPlan('busy');
    const store = new RunStore(plan.root);
    const busyOnce = plan.cells[1].id;
    const runs: string[] = [];
    const executor: CellExecutor = {
      capacity: 2, description: 'stand-in',
      async run(cell): Promise<CellOutcome> {
        runs.push(cell.id);
        if (cell.id === busyOnce && runs.filter((id) => id === busyOnce).length === 1) {
          return { ok: false, busy: true, error: 'being trained by process 1 on elsewhere' };
        }
        finish(store, cell);
        return { ok: true };
      },
      async close() {},
    };
    const notes: string[] = [];
    const summary = await runMatrix(plan, store, executor, {
      busyRetryMs: 100, onUpdate: (s: MatrixSnapshot) => s.changed?.note && notes.push(`${s.changed.state}: ${s.changed.note}`),
    });
    expect(summary.failed).toEqual([]);
    expect(summary.finished.sort()).toEqual(plan.cells.map((c) => c.id).sort());
    expect(runs.filter((id) => id === busyOnce)).toHaveLength(2);
    expect(notes).toEqual([expect.stringMatching(/^pending: being trained by process 1 on elsewhere; waiting for it/)]);
    expect(store.failure(busyOnce)).toBeUndefined();
  });

  it('local pool: a cell with a live lock is left to its holder; a stale lock is no obstacle', async () => {
    const plan = smallPlan('pool');
    const store = new RunStore(plan.root);
    const cell = plan.cells[0];
    mkdirSync(store.cellDir(cell.id), { recursive: true });
    const lock = join(store.cellDir(cell.id), LOCK_FILE);
    writeFileSync(lock, JSON.stringify({ host: 'elsewhere', pid: 1, token: 'abc', since: '' }));
    const pool = new LocalPool({ store, dataDir: work, gpus: 0, workers: 1 });
    expect(await pool.run(cell)).toEqual({ ok: false, busy: true, error: 'being trained by process 1 on elsewhere' });
    expect(store.liveLock(cell.id)?.owner?.host).toBe('elsewhere');
    const old = new Date(Date.now() - 600_000);
    utimesSync(lock, old, old);
    expect(store.liveLock(cell.id)).toBeUndefined();
  });
});
