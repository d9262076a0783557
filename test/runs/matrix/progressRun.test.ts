// A real matrix, with its output captured as a log would be (no terminal): while a cell trains, the runner prints
// that cell's epoch, step, loss and speed, read from the progress file its worker writes; the worker's own log has
// the trainer's lines with elapsed time and ETAs; and the progress file left behind keeps the cell finished.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { cellDirs, resultOf, smallMatrix, sqakd } from '../../support/matrixRuns.ts';

describe('matrix progress', () => {
  it('prints each running cell\'s progress from its worker while it trains', async () => {
    // Four epochs each: a cell trains for a few seconds, several times the display's one-second poll.
    const { work, spec } = smallMatrix('progress', ['ce'], 4, 4);
    const run = await sqakd(['matrix', '--spec', spec, '--runs-dir', join(work, 'runs'), '--reports-dir', join(work, 'reports'),
      '--workers', '1']);
    expect(run.exitCode, run.all).toBe(0);
    const lines = run.all.split('\n');
    const dirs = cellDirs(join(work, 'runs', 'tiny'));
    expect(dirs).toHaveLength(2);
    for (const dir of dirs) {
      const id = basename(dir);
      const started = lines.indexOf(`start ${id}`);
      const finished = lines.indexOf(`finished ${id}`);
      expect(started, run.all).toBeGreaterThanOrEqual(0);
      expect(finished, run.all).toBeGreaterThan(started);
      const epochs = resultOf(dir)!.epochs;
      const shown = new RegExp(`^  ${id}  epoch [1-${epochs}]/${epochs} step \\d+/10  loss \\d+\\.\\d{4}  \\d+ img/s  ETA (\\d+m )?\\d+s$`);
      expect(lines.slice(started, finished).some((l) => shown.test(l)), run.all).toBe(true);
      expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toMatch(/^epoch 1\/\d+ \d+\/10 loss \S+ \d+ img\/s, elapsed \d+s, ETA epoch \d+s, run /m);
      expect(JSON.parse(readFileSync(join(dir, 'progress.json'), 'utf8'))).toMatchObject({ epoch: epochs, step: 10, etaSeconds: 0 });
    }
    // Run again: the cells, progress files and all, are finished and not touched.
    const again = await sqakd(['matrix', '--spec', spec, '--runs-dir', join(work, 'runs'), '--reports-dir', join(work, 'reports')]);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/0 cell\(s\) run, 2 already finished/);
  });
});
