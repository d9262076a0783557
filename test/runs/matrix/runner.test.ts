// The matrix runner end to end, in real processes: a runner killed with SIGKILL mid-matrix and started again
// finishes every cell exactly once (finished cells untouched, the interrupted one resumed from its checkpoint),
// even after its store moved and with a dead foreign worker's lock on the interrupted cell; a worker that crashes
// fails its cell with its log while the other cells finish, and is retried only when asked. The report is current
// while the matrix runs.
import { existsSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  attemptsOf, cellDirs, epochsLogged, processAlive, resultOf, smallMatrix, sqakd, waitFor,
} from '../../support/matrixRuns.ts';

describe('matrix runner', () => {
  it('resumes after a SIGKILL, from a moved store, past a dead worker\'s lock: finished cells are not re-run, the ' +
    'interrupted one resumes from its checkpoint', async () => {
    const { work, spec } = smallMatrix('kill', ['ce', 'sqakd', 'at'], 4);
    const args = (runs: string) => ['matrix', '--spec', spec, '--runs-dir', join(work, runs), '--reports-dir', join(work, 'reports'),
      '--workers', '1'];
    let root = join(work, 'runs', 'tiny');

    const first = sqakd(args('runs'));
    // Kill once the teacher and one student are done and another student has a checkpoint but no result.
    let victim = await waitFor('a finished student and another one half-way', () => {
      const dirs = cellDirs(root);
      const finishedStudents = dirs.filter((d) => !basename(d).startsWith('teacher') && resultOf(d));
      const halfway = dirs.find((d) => !resultOf(d) && epochsLogged(d) >= 1 && existsSync(join(d, 'checkpoint.ckpt')));
      return finishedStudents.length >= 1 && halfway;
    });
    first.kill('SIGKILL');
    await first;
    // The report was rewritten as cells finished, so it showed the matrix half-way when the runner died.
    expect(readFileSync(join(work, 'reports', 'tiny', 'index.html'), 'utf8')).toMatch(/4 cells: [1-3] finished/);
    // Its worker notices that the runner is gone and stops after its current step.
    const orphan = attemptsOf(victim).at(-1)!.pid;
    await waitFor(`the orphaned worker ${orphan} to exit`, () => !processAlive(orphan), 60);
    // It released its lock on the way out (process.exit skips finally blocks, not exit listeners).
    expect(existsSync(join(victim, 'worker.lock'))).toBe(false);
    // As if a worker on another machine had then died on the cell: its lock stays, its heartbeat stopped, and the
    // temporary of a checkpoint it was writing is left behind.
    writeFileSync(join(victim, 'worker.lock'), JSON.stringify({ host: 'gone-machine', pid: 1, token: 'dead', since: '' }));
    writeFileSync(join(victim, 'checkpoint.ckpt.tmp-999999'), 'partial');
    const old = new Date(Date.now() - 600_000);
    for (const f of ['worker.lock', 'checkpoint.ckpt.tmp-999999']) utimesSync(join(victim, f), old, old);
    // And the store moves (or is mounted at another path): nothing in it names its old place.
    renameSync(join(work, 'runs'), join(work, 'moved'));
    root = join(work, 'moved', 'tiny');
    victim = join(root, basename(victim));
    const finishedBefore = new Map(cellDirs(root).filter((d) => resultOf(d))
      .map((d) => [d, statSync(join(d, 'result.json')).mtimeMs]));
    const victimEpochs = epochsLogged(victim);
    expect(finishedBefore.size).toBeGreaterThanOrEqual(2);
    expect(victimEpochs).toBeGreaterThanOrEqual(1);

    const second = await sqakd(args('moved'));
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).toMatch(new RegExp(`${finishedBefore.size} already finished`));
    const dirs = cellDirs(root);
    expect(dirs).toHaveLength(4);
    for (const dir of dirs) {
      const result = resultOf(dir);
      expect(result, dir).toBeDefined();
      expect(result!.history).toHaveLength(result!.epochs);
      if (finishedBefore.has(dir)) {
        // Not re-run: one attempt, the same result file.
        expect(attemptsOf(dir)).toHaveLength(1);
        expect(statSync(join(dir, 'result.json')).mtimeMs).toBe(finishedBefore.get(dir));
      }
    }
    const attempts = attemptsOf(victim);
    expect(attempts).toHaveLength(2);
    expect(attempts[1].epochsDoneAtStart).toBeGreaterThanOrEqual(victimEpochs);
    const victimLog = readFileSync(join(victim, 'worker.log'), 'utf8');
    expect(victimLog).toMatch(/resuming after \d+ epoch/);
    expect(victimLog).toMatch(/took over the lock of process 1 on gone-machine: its heartbeat stopped/);
    expect(victimLog).toMatch(/removed checkpoint\.ckpt\.tmp-999999, left by dead processes/);
    expect(existsSync(join(victim, 'checkpoint.ckpt.tmp-999999'))).toBe(false);
    expect(existsSync(join(victim, 'worker.lock'))).toBe(false);
    expect(readFileSync(join(work, 'reports', 'tiny', 'table.md'), 'utf8')).toMatch(/\| sqakd \| no \|/);
    // The CSV's difference to CE is computed from the cells' own results, rounded to the reports' precision.
    const top1 = (prefix: string) => resultOf(dirs.find((d) => basename(d).startsWith(prefix))!)!.top1;
    const csv = readFileSync(join(work, 'reports', 'tiny', 'table.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const [header, ...rows] = csv;
    const sqakdRow = rows.find((r) => r[header.indexOf('method')] === 'sqakd')!;
    expect(Math.abs(Number(sqakdRow[header.indexOf('deltaVsCe')]) - (top1('sqakd-') - top1('ce-')))).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(rows).toHaveLength(4);
  });

  it('fails a cell whose worker crashes, with its log, finishes the others, and retries it only when asked', async () => {
    const { work, spec } = smallMatrix('crash', ['ce', 'sqakd', 'kd'], 2);
    const args = ['matrix', '--spec', spec, '--runs-dir', join(work, 'runs'), '--reports-dir', join(work, 'reports'), '--workers', '1'];
    const root = join(work, 'runs', 'tiny');

    const run = sqakd(args);
    // Crash the SQAKD student's worker process as soon as it starts (as an out-of-memory kill would).
    const victim = await waitFor('the sqakd cell to start', () =>
      cellDirs(root).find((d) => basename(d).startsWith('sqakd-') && attemptsOf(d).length > 0));
    process.kill(attemptsOf(victim)[0].pid, 'SIGKILL');
    const crashed = await run;
    expect(crashed.exitCode).toBe(1);
    expect(crashed.all).toMatch(new RegExp(`failed ${basename(victim)}: the worker process was killed by SIGKILL`));
    expect(crashed.all).toMatch(/attempt on .* from the start/); // the log's tail is printed with the failure
    expect(crashed.all).toMatch(/3 cell\(s\) run, 0 already finished, 1 failed/);
    const failure = JSON.parse(readFileSync(join(victim, 'failure.json'), 'utf8')) as { error: string; log: string };
    expect(failure.error).toMatch(/SIGKILL/);
    expect(failure.log).toMatch(/attempt on/);
    for (const dir of cellDirs(root).filter((d) => d !== victim)) expect(resultOf(dir), dir).toBeDefined();
    expect(readFileSync(join(work, 'reports', 'tiny', 'table.md'), 'utf8')).toMatch(/\| failed \|/);
    expect(readFileSync(join(work, 'reports', 'tiny', 'index.html'), 'utf8')).toContain('the worker process was killed by SIGKILL');

    // Without --retry-failed the failure stands; with it, the cell runs again and finishes.
    const again = await sqakd(args);
    expect(again.exitCode).toBe(1);
    expect(again.all).toMatch(/--retry-failed runs it again/);
    expect(attemptsOf(victim)).toHaveLength(1);
    const retried = await sqakd([...args, '--retry-failed']);
    expect(retried.exitCode, retried.all).toBe(0);
    expect(resultOf(victim)?.labelsUsed).toBe(false);
    expect(existsSync(join(victim, 'failure.json'))).toBe(false);
  });
});
