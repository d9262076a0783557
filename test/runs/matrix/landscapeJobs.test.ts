// A matrix spec's `landscape` section: its sweeps become jobs of the matrix (after their students, split into
// shares and a finishing job), its mistakes are listed with the spec's, and a sweep run by the matrix's workers,
// killed half-way and resumed, writes the same bytes as `sqakd landscape` in one process at the same thread count.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { assembleMatrixSpec } from '../../../runs/matrix/matrixSpec.ts';
import { planMatrix } from '../../../runs/matrix/plan.ts';
import { attemptsOf, cellDirs, processAlive, sqakd, waitFor } from '../../support/matrixRuns.ts';

const grid = { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2', 'W4A4'], method: ['ce', 'kd', 'sqakd'] };
const SWEEP = { grid: 6, range: 0.5, subset: 128, seed: 3, radius: 0.25, traceSamples: 2, powerIterations: 2, batchSize: 128, losses: ['ce', 'kl', 'acc'] };

/** The plan of a spec, or the problems it is refused with. */
function planOf(raw: Record<string, unknown>) {
  const { spec, problems } = assembleMatrixSpec(raw, 'sweeps');
  try {
    return { plan: planMatrix(spec, { runsDir: tmpdir(), dataDir: tmpdir(), earlierProblems: problems }), problems: [] };
  } catch (e) {
    return { plan: null, problems: (e as { problems?: string[] }).problems ?? [(e as Error).message] };
  }
}

describe('a matrix spec\'s landscape section', () => {
  it('adds, for each student it picks, a sweep in shares that wait for the student and a finishing job that waits for them', () => {
    const { plan } = planOf({ grid, landscape: { cells: [{ method: 'sqakd', bits: 'W2A2' }, { method: 'kd', bits: 'W2A2' }], jobs: 3 } });
    const jobs = plan!.cells.filter((c) => c.kind === 'landscape');
    const students = plan!.cells.filter((c) => c.kind === 'student');
    expect(students).toHaveLength(6);
    expect(jobs).toHaveLength(8);
    for (const method of ['sqakd', 'kd']) {
      const student = students.find((s) => s.axes.method === method && s.axes.bits === 'W2A2')!;
      const ours = jobs.filter((j) => j.landscape!.cell === student.id);
      expect(ours.map((j) => basename(j.id))).toEqual(['part-1-of-3', 'part-2-of-3', 'part-3-of-3', 'finish']);
      for (const part of ours.slice(0, 3)) expect(part.dependsOn).toEqual([student.id]);
      expect(ours[3].dependsOn).toEqual(ours.slice(0, 3).map((p) => p.id));
      // Inside the student's folder, in a folder named by the sweep's settings; the defaults are the CLI's.
      expect(ours[0].id).toMatch(new RegExp(`^${student.id}/landscape-[0-9a-f]{10}/part-1-of-3$`));
      expect(ours[0].landscape!.settings).toMatchObject({ grid: 21, range: 1, subset: 1024, seed: 1, radius: 0.5, losses: ['ce', 'kl', 'ce+kl', 'acc'] });
    }
    // Other settings, another sweep folder; one job by default, doing it all.
    const { plan: other } = planOf({ grid, landscape: { cells: [{ method: 'sqakd', bits: 'W2A2' }], grid: 11 } });
    const whole = other!.cells.filter((c) => c.kind === 'landscape');
    expect(whole.map((j) => basename(j.id))).toEqual(['whole']);
    expect(whole[0].id.split('/')[1]).not.toBe(jobs[0].id.split('/')[1]);
    // Without cells, every student is swept.
    expect(planOf({ grid, landscape: {} }).plan!.cells.filter((c) => c.kind === 'landscape')).toHaveLength(6);
  });

  it('lists its mistakes with the spec\'s, each at its place, before anything runs', () => {
    const { problems } = planOf({
      grid, exclude: [{ method: 'kd', bits: 'W4A4' }],
      landscape: { cells: [{ method: 'sqkad' }, { method: 'kd', bits: 'W4A4' }], grid: 1, range: 0, losses: ['ce', 'mse'], jobs: 0, weights: { ce: -1, kl: 1 } },
    });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^landscape\.grid: must be an integer of at least 2/),
      expect.stringMatching(/^landscape\.range: must be a positive number/),
      expect.stringMatching(/^landscape\.losses\[1\]: must be one of ce, kl, ce\+kl, acc/),
      expect.stringMatching(/^landscape\.jobs: must be a positive integer/),
      expect.stringMatching(/^landscape\.weights\.ce: must be a non-negative number/),
    ]));
    // The schema's findings come first; once they are fixed, the names and the cells they pick are checked.
    const names = planOf({ grid, exclude: [{ method: 'kd', bits: 'W4A4' }], landscape: { cells: [{ method: 'sqkad' }, { method: 'kd', bits: 'W4A4' }] } });
    expect(names.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^landscape\.cells\[0\]\.method: 'sqkad' is in no grid \(did you mean 'sqakd'\?\)/),
      'landscape.cells[1]: picks no student of the matrix',
    ]));
  });

  it('runs on the matrix\'s workers, resumes a killed sweep chunk by chunk, and writes the bytes of one process', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sqakd-sweeps-'));
    const spec = join(work, 'sweeps.json');
    writeFileSync(spec, JSON.stringify({
      grid: { ...grid, bits: ['W2A2'], method: ['sqakd'] }, epochs: 1, teacherEpochs: 1, trainImages: 640, batchSize: 64,
      landscape: { ...SWEEP, jobs: 2, chunkSize: 2 },
    }));
    const args = ['matrix', '--spec', spec, '--runs-dir', join(work, 'runs'), '--reports-dir', join(work, 'reports'), '--workers', '2', '--threads', '1'];
    const root = join(work, 'runs', 'sweeps');
    const first = sqakd(args);
    // Kill the runner once the first share has saved a chunk but not finished.
    const part = await waitFor('a share of the sweep half-way', () => {
      const student = cellDirs(root).find((d) => basename(d).startsWith('sqakd-'));
      const sweep = student && readdirSync(student).find((f) => f.startsWith('landscape-'));
      if (!sweep) return undefined;
      const dir = join(student, sweep, 'part-1-of-2');
      const chunks = join(student, sweep, 'chunks');
      return existsSync(chunks) && readdirSync(chunks).some((f) => /^chunk-0\.json$/.test(f)) && !existsSync(join(dir, 'result.json')) && dir;
    });
    first.kill('SIGKILL');
    await first;
    const orphan = attemptsOf(part).at(-1)!.pid;
    // It notices that its runner is gone at its next grid point and stops, its saved chunks kept.
    await waitFor(`the orphaned landscape worker ${orphan} to exit`, () => !processAlive(orphan), 60);
    expect(existsSync(join(part, 'result.json'))).toBe(false);

    const second = await sqakd(args);
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).toMatch(/2 already finished/); // the teacher and the student
    const partLog = readFileSync(join(part, 'worker.log'), 'utf8');
    expect(partLog).toMatch(/[1-8] of 9 chunk\(s\) already saved: evaluating the other/);
    expect(attemptsOf(part)).toHaveLength(2);
    // Its progress file counts its share's points (9 chunks of 2 of the 36), as the display reads a cell's steps.
    expect(JSON.parse(readFileSync(join(part, 'progress.json'), 'utf8'))).toMatchObject({ stage: 'landscape', step: 18, steps: 18, loss: null });
    const student = cellDirs(root).find((d) => basename(d).startsWith('sqakd-'))!;
    const sweepDir = join(student, readdirSync(student).find((f) => f.startsWith('landscape-'))!);
    expect(readdirSync(sweepDir).sort()).toEqual(['finish', 'part-1-of-2', 'part-2-of-2']); // chunks cleared once assembled

    // The same sweep in one process at the workers' thread count.
    const direct = join(work, 'direct');
    const one = await sqakd(['landscape', '--checkpoint', join(student, 'checkpoint.ckpt'), '--out', direct, '--grid', '6', '--range', '0.5',
      '--subset', '128', '--loss', 'ce,kl,acc', '--seed', '3', '--radius', '0.25', '--trace-samples', '2', '--power-iterations', '2', '--batch-size', '128',
      '--threads', '1', '--data-dir', work]);
    expect(one.exitCode, one.all).toBe(0);
    for (const file of ['landscape.json', 'landscape.csv']) {
      expect(readFileSync(join(student, file), 'utf8'), file).toBe(readFileSync(join(direct, file), 'utf8'));
    }
    // The report shows the student's landscape; a third run has nothing left to do.
    expect(readFileSync(join(work, 'reports', 'sweeps', 'index.html'), 'utf8')).toMatch(/chart-landscapes/);
    const third = await sqakd(args);
    expect(third.all).toMatch(/0 cell\(s\) run, 5 already finished/);
  });
});
