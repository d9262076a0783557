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
  // 1 ms per MMAC: the teacher's 3.9 GMAC take 3,900 s.
  const speed = { imagesPerSecond: 100, secondsPerMac: 1e-6, measuredAt: '2026-12-07T00:00:00Z' };
  const hoursOf = (macs: number) => `${((macs * 1e-6) / 3600).toFixed(2)} h`;

  it('lists every cell with its state, epochs, cost, estimated hours and teacher, the teachers\' students, then the totals', () => {
    const lines = dryRunLines({
      plan, statusOf: (c) => (c === teacher ? 'finished' : c === ce ? 'interrupted' : 'new'), wallSecondsOf: () => undefined,
      speedOf: () => speed, warnings: ['cifar100: folder cifar-100-binary/ is missing under /data'],
    });
    // Teacher: 100 images x 3 epochs x 3 passes x 1 MMAC + 1000 test images x 3 epochs x 1 MMAC = 3.9 GMAC.
    expect(lines[0]).toBe(`finished    ${teacher.id}  3 epochs, 3.9 GMAC, ~1.08 h`);
    expect(lines[1]).toBe(`interrupted ${ce.id}  2 epochs, ${gmac(ce.macs)} GMAC, ~${hoursOf(ce.macs!)} after ${teacher.id}`);
    expect(lines[2]).toMatch(new RegExp(`^new         ${sqakd.id}  2 epochs, [0-9.]+ GMAC, ~[0-9.]+ h after ${teacher.id}$`));
    expect(lines[3]).toMatch(new RegExp(`^new         ${fsp.id}  2 epochs \\+ 1 pre-stage, [0-9.]+ GMAC, ~[0-9.]+ h after ${teacher.id}$`));
    expect(lines[4]).toBe(`teacher ${teacher.id} is shared by 3 student(s)`);
    const total = plan.cells.reduce((s, c) => s + c.macs!, 0);
    expect(lines[5]).toBe(`4 cells (1 teacher(s), 3 student(s)) in ${plan.root}; estimated ${hoursOf(total)} in all, ` +
      `${hoursOf(total - teacher.macs!)} left, one cell at a time with every core`);
    expect(lines[6]).toBe('measured on this machine (a W2A2 SQAKD step, batch 32): cnn-small/synthetic 100 img/s');
    expect(lines[7]).toBe('warning: cifar100: folder cifar-100-binary/ is missing under /data');
    expect(lines).toHaveLength(8);
  });

  it('says which cells have no estimate, and compares the finished cells with theirs', () => {
    const none = dryRunLines({ plan, statusOf: () => 'new', wallSecondsOf: () => undefined, speedOf: () => undefined, warnings: [] });
    expect(none[0]).toBe(`new         ${teacher.id}  3 epochs, 3.9 GMAC, time unknown`);
    expect(none.at(-1)).toMatch(/estimated 0\.00 h in all, 0\.00 h left, one cell at a time with every core \(4 cell\(s\) without an estimate\)$/);
    // The teacher took twice its estimate: the rest is expected to as well.
    const timed = dryRunLines({
      plan, statusOf: (c) => (c === teacher ? 'finished' : 'new'), wallSecondsOf: () => 7800, speedOf: () => speed, warnings: [],
    });
    const left = plan.cells.slice(1).reduce((s, c) => s + c.macs!, 0);
    expect(timed.at(-1)).toBe(`the finished cells took 2h 10m against 1h 05m estimated (x2.00); at that rate ` +
      `${((2 * left * 1e-6) / 3600).toFixed(2)} h are left`);
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
