// Output folders: a run never writes over another run's files or a user's. The case of issue 14: a finished run
// whose checkpoint the user deleted (config.json, log.jsonl and result.json left) was silently overwritten by a
// run of another configuration. Now it is refused with every file byte-identical, and --force moves the old files
// into replaced-<time>/ unchanged. The same for a matrix store and a report folder.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { claimReportFolder } from '../../reports/reportFolder.ts';
import { RunStore } from '../../runs/matrix/runStore.ts';
import { OutputFolderError } from '../../runs/outputFolder.ts';
import { resolveTrainConfig, type TrainConfig } from '../../runs/trainConfig.ts';
import { runTraining, type RunResult } from '../../runs/trainer.ts';
import { folderSnapshot } from '../support/folderSnapshot.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-out-'));
let backend: string;

/** A full-precision cnn-small on 256 synthetic images: two steps. */
function config(seed: number): TrainConfig {
  return resolveTrainConfig({ recipe: 'synthetic-cnn-small', epochs: 1, trainImages: 256, seed });
}

function train(seed: number, out: string, options: { force?: boolean } = {}): RunResult {
  return runTraining(config(seed), { out, dataDir: work, backend, progress: null, log: () => {}, ...options });
}


function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OutputFolderError);
    return (e as Error).message;
  }
  throw new Error('expected the folder to be refused');
}

describe('output folders', () => {
  let finished: string;

  beforeAll(async () => {
    backend = await initBackend('libtorch');
    finished = join(work, 'finished');
    train(1, finished);
    // As after a user deleted the large file to save space.
    rmSync(join(finished, 'checkpoint.ckpt'));
  });

  it('refuses a folder with another run\'s files, leaving every file byte-identical', () => {
    const before = folderSnapshot(finished);
    expect(Object.keys(before).sort()).toEqual(['config.json', 'log.jsonl', 'result.json']);
    const message = refusal(() => train(2, finished));
    expect(message).toMatch(/holds files of a run with another configuration \(config\.json, log\.jsonl, result\.json\); nothing was written: use another --out, or --force/);
    expect(message.split('\n')).toHaveLength(1);
    expect(folderSnapshot(finished)).toEqual(before);
  });

  it('reports its own finished result again when only the checkpoint is gone, changing nothing', () => {
    const before = folderSnapshot(finished);
    const result = train(1, finished);
    expect(result.seed).toBe(1);
    expect(folderSnapshot(finished)).toEqual(before);
  });

  it('refuses a folder holding files the suite did not write', () => {
    const folder = join(work, 'notes');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'my notes');
    expect(refusal(() => train(1, folder))).toMatch(/holds files the suite did not write \(notes\.txt\)/);
    expect(readdirSync(folder)).toEqual(['notes.txt']);
  });

  it('with --force moves the old files, unchanged, into replaced-<time>/ and trains', () => {
    const before = folderSnapshot(finished);
    const result = train(2, finished, { force: true });
    expect(result.seed).toBe(2);
    const replaced = readdirSync(finished).filter((f) => f.startsWith('replaced-'));
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toMatch(/^replaced-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(folderSnapshot(join(finished, replaced[0]))).toEqual(before);
    expect(existsSync(join(finished, 'checkpoint.ckpt'))).toBe(true);
    // The replaced folder is the suite's own: a rerun of the new configuration finds its run, not a stranger.
    expect(train(2, finished).top1).toBe(result.top1);
  });

  it('records the numeric environment in config.json and result.json', () => {
    const result = JSON.parse(readFileSync(join(finished, 'result.json'), 'utf8')) as RunResult;
    const stored = JSON.parse(readFileSync(join(finished, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(result.environment).toMatchObject({ backend: 'libtorch', device: 'cpu' });
    expect(result.environment.threads).toBeGreaterThanOrEqual(1);
    expect(result.environment.blas).toEqual(expect.any(String));
    expect(result.environment.library).toMatch(/^libtorch \d/);
    expect(stored.environment).toEqual(result.environment);
  });

  it('refuses a matrix store or a report folder holding files the suite did not write', () => {
    const root = join(work, 'runs', 'm');
    mkdirSync(join(root, 'cell-a'), { recursive: true });
    writeFileSync(join(root, 'cell-a', 'cell.json'), '{}');
    writeFileSync(join(root, 'results.xlsx'), 'a spreadsheet');
    const store = new RunStore(root);
    expect(refusal(() => store.claim({ spec: {}, cells: [] }))).toMatch(/holds files the suite did not write \(results\.xlsx\).*another --name or --runs-dir/);
    expect(existsSync(join(root, 'matrix.json'))).toBe(false);
    // A store of its own files takes a new spec, keeping the earlier one in the history.
    rmSync(join(root, 'results.xlsx'));
    store.claim({ spec: { a: 1 }, cells: ['cell-a'] });
    store.claim({ spec: { a: 2 }, cells: ['cell-a'] });
    expect(readFileSync(join(root, 'matrix-history.jsonl'), 'utf8')).toBe(`${JSON.stringify({ spec: { a: 1 }, cells: ['cell-a'] })}\n`);

    const reports = join(work, 'reports', 'm');
    mkdirSync(reports, { recursive: true });
    writeFileSync(join(reports, 'table.md'), 'an earlier report');
    claimReportFolder(reports);
    writeFileSync(join(reports, 'draft.md'), 'my draft');
    expect(refusal(() => claimReportFolder(reports))).toMatch(/\(draft\.md\).*another --reports-dir/);
    claimReportFolder(reports, { force: true });
    expect(readdirSync(reports).filter((f) => !f.startsWith('replaced-'))).toEqual([]);
  });
});
