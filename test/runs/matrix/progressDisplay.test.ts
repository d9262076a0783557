// What a matrix shows of its running cells: the worker's progress file (written at most about once a second, and at
// each epoch's end), read back through the store and shown with the cell's epoch, step, loss, speed and ETA: as a
// block redrawn in place on a terminal, as throttled plain lines elsewhere; a dead worker's file is not shown as live.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { type CellProgress, PROGRESS_FILE, ProgressFileSink } from '../../../runs/matrix/cellProgress.ts';
import { validateMatrixSpec } from '../../../runs/matrix/matrixSpec.ts';
import { planMatrix } from '../../../runs/matrix/plan.ts';
import { MatrixProgress } from '../../../runs/matrix/progressDisplay.ts';
import { CELL_COMPANION_FILES, RunStore } from '../../../runs/matrix/runStore.ts';
import type { CellState, MatrixSnapshot } from '../../../runs/matrix/scheduler.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-progress-display-'));
const plan = planMatrix(validateMatrixSpec({
  grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] },
  epochs: 30, trainImages: 100,
}, 'shown'), { runsDir: join(work, 'runs'), dataDir: work, modelFacts: () => ({ tapNames: ['a'], macsPerImage: 1e6 }) });
const [, ce, sqakd] = plan.cells;
const store = new RunStore(plan.root);
for (const cell of plan.cells) store.prepare(cell);

const T0 = Date.parse('2030-01-01T00:00:00Z');
const WORKER = { pid: 4242, host: 'worker-1' };

/** A worker's attempt on the cell and its progress file. */
function report(id: string, progress: Partial<CellProgress> = {}, attempt = WORKER): void {
  appendFileSync(join(store.cellDir(id), 'attempts.jsonl'),
    `${JSON.stringify({ startedAt: '', ...attempt, epochsDoneAtStart: 0 })}\n`);
  writeProgress(id, progress);
}

function writeProgress(id: string, progress: Partial<CellProgress>): void {
  const full: CellProgress = {
    stage: 'main', epoch: 3, epochs: 30, step: 120, steps: 391, loss: 0.41234, imagesPerSecond: 812.3, etaSeconds: 2470,
    updatedAt: new Date(T0).toISOString(), ...WORKER, ...progress,
  };
  writeFileSync(join(store.cellDir(id), PROGRESS_FILE), JSON.stringify(full));
}

function snapshot(states: CellState[], changed?: MatrixSnapshot['changed']): MatrixSnapshot {
  return { plan, states: new Map(plan.cells.map((c, i) => [c.id, states[i]])), changed };
}

function fakeStream(tty: boolean, size = { columns: 160, rows: 40 }) {
  const written: string[] = [];
  return {
    stream: { isTTY: tty, ...size, write: (chunk: string) => (written.push(chunk), true) },
    text: () => written.join(''),
    clear: () => written.splice(0),
  };
}

describe('progress file', () => {
  it('is written at most once a second within an epoch, and with its final state at the epoch\'s end', () => {
    const path = join(work, 'sink-progress.json');
    let now = T0;
    const sink = new ProgressFileSink(path, { ...WORKER, now: () => now });
    const writes: string[] = [];
    const read = () => JSON.parse(readFileSync(path, 'utf8')) as CellProgress;
    const info = { label: 'epoch 30/30', stage: 'main' as const, epoch: 29, epochs: 30, steps: 40, laterEpochs: 0 };
    const epoch = sink.epoch(info);
    for (let step = 1; step <= 40; step++) {
      now += 100; // 10 steps a second
      epoch.update(step, { loss: 1 / step, imagesPerSecond: 640 });
      const updatedAt = read().updatedAt;
      if (writes.at(-1) !== updatedAt) writes.push(updatedAt);
    }
    // Steps 1, 11, 21, 31: four writes in four seconds of forty steps.
    expect(writes).toHaveLength(4);
    expect(read()).toMatchObject({ epoch: 30, step: 31, steps: 40, imagesPerSecond: 640, ...WORKER });
    expect(read().etaSeconds).toBeCloseTo(0.9, 6);
    now += 2000;
    epoch.finish('done');
    expect(read()).toMatchObject({ stage: 'main', epoch: 30, epochs: 30, step: 40, loss: 1 / 40, etaSeconds: 0,
      updatedAt: new Date(now).toISOString() });
    // The suite knows the file as the cell's own: a cell folder holding it is no stranger's.
    expect(CELL_COMPANION_FILES).toContain(PROGRESS_FILE);
  });
});

describe('matrix display', () => {
  it('prints a running cell\'s epoch, step, loss, speed and ETA off a terminal, at most every plainEveryMs', () => {
    report(ce.id);
    let now = T0 + 1000;
    const { stream, text, clear } = fakeStream(false);
    const display = new MatrixProgress({ store, stream, now: () => now, pollMs: 3_600_000, plainEveryMs: 30_000 });
    display.update(snapshot(['skipped', 'running', 'pending'], { cell: ce, state: 'running' }));
    expect(text()).toBe(`start ${ce.id}\n[shown] 1/3 done (1 earlier), 1 running, 0 failed, elapsed 0s, ETA after the first cell\n`);
    clear();
    display.tick();
    expect(text()).toBe(`  ${ce.id}  epoch 3/30 step 120/391  loss 0.4123  812 img/s  ETA 41m 10s\n`);
    clear();
    // A newer report within 30 s waits; after them it is printed.
    now += 10_000;
    writeProgress(ce.id, { step: 200, updatedAt: new Date(now).toISOString() });
    display.tick();
    expect(text()).toBe('');
    now += 25_000;
    display.tick();
    expect(text()).toBe(`  ${ce.id}  epoch 3/30 step 200/391  loss 0.4123  812 img/s  ETA 41m 10s\n`);
    display.finish();
  });

  it('shows no dead worker\'s progress as live: an old file, one of an earlier attempt, or a cell that is not running', () => {
    report(sqakd.id, { stage: 'pre', epoch: 1, epochs: 2 });
    report(ce.id, {}, { pid: 1, host: 'earlier-worker' });
    writeProgress(ce.id, { pid: 1, host: 'earlier-worker' });
    report(ce.id); // the latest attempt has not reported yet
    writeProgress(ce.id, { pid: 1, host: 'earlier-worker' });
    // Ten minutes after the sqakd cell's worker last wrote.
    const now = T0 + 600_000;
    const plain = fakeStream(false);
    const display = new MatrixProgress({ store, stream: plain.stream, now: () => now, pollMs: 3_600_000 });
    display.update(snapshot(['skipped', 'running', 'running']));
    plain.clear();
    display.tick();
    expect(plain.text()).toBe('');
    display.finish();

    const terminal = fakeStream(true);
    const shown = new MatrixProgress({ store, stream: terminal.stream, now: () => now, pollMs: 3_600_000 });
    shown.update(snapshot(['skipped', 'running', 'running']));
    expect(terminal.text()).toContain(`  ${ce.id}  starting\n`);
    expect(terminal.text()).toContain(`  ${sqakd.id}  no report for 10m 00s\n`);
    expect(terminal.text()).not.toContain('img/s');
    shown.finish();

    // A finished cell's last report is not shown at all.
    const done = fakeStream(true);
    const after = new MatrixProgress({ store, stream: done.stream, now: () => T0 + 1000, pollMs: 3_600_000 });
    writeProgress(ce.id, {});
    after.update(snapshot(['skipped', 'finished', 'pending']));
    expect(done.text()).not.toContain(ce.id);
    after.finish();
  });

  it('draws on a terminal that reports a size of 0 (an unsized pseudo-terminal) as on one of 80 columns', () => {
    report(ce.id, { updatedAt: new Date(T0).toISOString() });
    const { stream, text } = fakeStream(true, { columns: 0, rows: 0 });
    const display = new MatrixProgress({ store, stream, now: () => T0 + 1000, pollMs: 3_600_000 });
    display.update(snapshot(['skipped', 'running', 'pending'], { cell: ce, state: 'running' }));
    display.finish();
    expect(text()).toContain('[shown] 1/3 done (1 earlier), 1 running, 0 failed');
    // Cut to 80 columns, not left out.
    expect(text()).toContain(`  ${ce.id}  epoch 3/30`);
  });

  it('redraws a block in place on a terminal: the status line, a line per running cell, events above it', () => {
    report(ce.id, { updatedAt: new Date(T0).toISOString() });
    report(sqakd.id, { stage: 'pre', epoch: 1, epochs: 2, step: 5, steps: 391, loss: null, imagesPerSecond: null,
      etaSeconds: null, updatedAt: new Date(T0).toISOString() });
    let now = T0 + 1000;
    const { stream, text, clear } = fakeStream(true);
    const display = new MatrixProgress({ store, stream, now: () => now, pollMs: 3_600_000 });
    display.update(snapshot(['skipped', 'running', 'running'], { cell: sqakd, state: 'running' }));
    const block = text();
    expect(block).toContain(`[shown] 1/3 done (1 earlier), 2 running, 0 failed, elapsed 0s, ETA after the first cell\n` +
      `  ${ce.id}  epoch 3/30 step 120/391  loss 0.4123  812 img/s  ETA 41m 10s\n` +
      `  ${sqakd.id}  pre-stage 1/2 step 5/391  ETA ?\n`);
    // A start shows in the block only.
    expect(block).not.toContain('start ');
    clear();

    now += 2000;
    writeProgress(ce.id, { step: 121, loss: 0.4, updatedAt: new Date(now).toISOString() });
    display.tick();
    // Only the changed line is rewritten: the cursor goes up to it and erases it (log-update's patch).
    const patch = text();
    expect(patch).toContain('\x1b[2K');
    expect(patch).toMatch(/\x1b\[\d*A/);
    expect(patch).toContain(`  ${ce.id}  epoch 3/30 step 121/391  loss 0.4000  812 img/s  ETA 41m 10s`);
    expect(patch).not.toContain('[shown]');
    clear();

    // A finished cell goes above the block for good; the block goes on without it.
    const states = snapshot(['skipped', 'finished', 'running'], { cell: ce, state: 'finished' });
    display.update(states);
    // (log-update brackets each frame in synchronized-output marks.)
    const after = text().replace(/\x1b\[\?2026[hl]/g, '');
    expect(after).toContain('\x1b[2K');
    expect(after).toContain(`finished ${ce.id}\n[shown] 2/3 done (1 earlier), 1 running, 0 failed`);
    expect(after.slice(after.indexOf('[shown]'))).not.toContain(ce.id);
    display.finish();
  });
});
