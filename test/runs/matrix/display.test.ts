// What the runner prints: the dry run's cells with their state, schedule, cost and dependencies, and the progress
// line with its counts and ETA.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { dryRunLines, gmac } from '../../../runs/matrix/dryRun.ts';
import { validateMatrixSpec } from '../../../runs/matrix/matrixSpec.ts';
import { planMatrix } from '../../../runs/matrix/plan.ts';
import { formatDuration, progressLine } from '../../../runs/matrix/progressDisplay.ts';
import type { CellState } from '../../../runs/matrix/scheduler.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-display-'));
const plan = planMatrix(validateMatrixSpec({
  grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd', 'fsp'] },
  epochs: 2, teacherEpochs: 3, preEpochs: 1, trainImages: 100,
}, 'shown'), { runsDir: join(work, 'runs'), dataDir: work, modelFacts: () => ({ tapNames: ['a', 'b', 'c', 'd', 'e'], macsPerImage: 1e6 }) });
const [teacher, ce, sqakd, fsp] = plan.cells;

describe('dry run', () => {
  it('lists every cell with its state, epochs, cost and teacher, then the totals', () => {
    const lines = dryRunLines(plan, (c) => (c === teacher ? 'finished' : c === ce ? 'interrupted' : 'new'), () => undefined);
    expect(lines).toHaveLength(plan.cells.length + 1);
    // Teacher: 100 images x 3 epochs x 3 passes x 1 MMAC + 1000 test images x 3 epochs x 1 MMAC = 3.9 GMAC.
    expect(lines[0]).toBe(`finished    ${teacher.id}  3 epochs, 3.9 GMAC`);
    expect(lines[1]).toBe(`interrupted ${ce.id}  2 epochs, ${gmac(ce.macs)} GMAC after ${teacher.id}`);
    expect(lines[2]).toMatch(new RegExp(`^new         ${sqakd.id}  2 epochs, [0-9.]+ GMAC after ${teacher.id}$`));
    expect(lines[3]).toMatch(new RegExp(`^new         ${fsp.id}  2 epochs \\+ 1 pre-stage, [0-9.]+ GMAC after ${teacher.id}$`));
    const total = plan.cells.reduce((s, c) => s + c.macs!, 0);
    expect(lines[4]).toBe(`4 cells (1 teachers) in ${plan.root}; ${gmac(total)} GMAC in all, ${gmac(total - teacher.macs!)} left ` +
      '(no cell has run yet to time it)');
  });

  it('estimates the time left from the speed of the cells already run', () => {
    const lines = dryRunLines(plan, (c) => (c === teacher ? 'finished' : 'new'), () => 39);
    // 39 s for the teacher's 3.9 GMAC: 10 s per GMAC.
    const left = plan.cells.slice(1).reduce((s, c) => s + c.macs!, 0);
    expect(lines.at(-1)).toMatch(new RegExp(`, about ${formatDuration((left / 1e9) * 10)} at the speed of the cells already run$`));
    expect(gmac(null)).toBe('?');
    expect(gmac(2.5e11)).toBe('250');
  });
});

describe('progress line', () => {
  const snapshot = (states: CellState[]) => ({ plan, states: new Map(plan.cells.map((c, i) => [c.id, states[i]])) });

  it('counts cells by state and estimates the rest from the work done so far', () => {
    expect(progressLine(snapshot(['pending', 'pending', 'pending', 'pending']), 5))
      .toBe('[shown] 0/4 done, 0 running, 0 failed, elapsed 5s, ETA after the first cell');
    const halfway = snapshot(['skipped', 'finished', 'running', 'failed']);
    // 1 cell's work done in 125 s; the running one's as much again is left.
    const eta = formatDuration((sqakd.macs! * 125) / ce.macs!);
    expect(progressLine(halfway, 125)).toBe(`[shown] 2/4 done (1 earlier), 1 running, 1 failed, elapsed 2m 05s, ETA ${eta}`);
    expect(progressLine(snapshot(['finished', 'finished', 'blocked', 'failed']), 3725))
      .toBe('[shown] 2/4 done, 0 running, 1 failed, 1 blocked, elapsed 1h 02m');
  });
});
