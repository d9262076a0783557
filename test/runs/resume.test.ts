// A training run killed (SIGKILL) in the middle of an epoch resumes after its last finished epoch and ends exactly
// as an uninterrupted run does: same history of accuracies and losses, bit-identical weights and optimizer state.
// Checked on the built-in synthetic set for a quantized SQAKD student (two optimizers, quantizer parameters) and a
// CRD student (its embedding heads, memory banks and normalising constant live in the checkpoint too), each over the
// first 1,000 images from the cached synthetic teacher. The killed SQAKD run also shows the determinism contract's
// other half: resumed with another thread count it is refused, files untouched, unless --allow-env-change, which
// result.json then records.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { loadCheckpoint } from '../../runs/checkpoint.ts';
import type { CheckpointMeta } from '../../runs/trainedModel.ts';
import { cachedTeacher, SYNTHETIC_TEACHER } from '../support/teacherCache.ts';
import { folderSnapshot } from '../support/folderSnapshot.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-resume-'));
let teacherPath: string;
const METHOD_ARGS: Record<string, string[]> = {
  sqakd: ['--method', 'sqakd'],
  crd: ['--method', 'crd', '--method-option', 'negatives=1024'],
};
let method = 'sqakd';
const studentArgs = (out: string, threads = 2) => ['train', '--threads', String(threads), '--recipe', 'synthetic-cnn-small', '--quantizer', 'ewgs', '--w-bits', '2',
  '--a-bits', '2', ...METHOD_ARGS[method], '--teacher', teacherPath, '--epochs', '3',
  '--train-images', '1000', '--quiet', '--out', join(work, `${method}-${out}`)];

function sqakd(args: string[]): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, ['bin/sqakd.js', ...args], { encoding: 'utf8' });
}

function loggedEpochs(out: string): Array<{ seconds: number }> {
  const path = join(work, `${method}-${out}`, 'log.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 300_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface StoredResult {
  history: Array<Record<string, number>>;
  environment: { threads: number };
  environmentChanges?: Array<{ afterEpochs: number; from: { threads: number }; to: { threads: number } }>;
}

function storedResult(out: string): StoredResult {
  return JSON.parse(readFileSync(join(work, `${method}-${out}`, 'result.json'), 'utf8')) as StoredResult;
}

function historyWithoutTimes(out: string): unknown[] {
  return storedResult(out).history.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);
}


describe('resuming a killed run', () => {
  beforeAll(async () => {
    const backend = await initBackend('libtorch');
    teacherPath = cachedTeacher(SYNTHETIC_TEACHER, { dataDir: resolveDataDir(), backend }).checkpoint;
  });

  for (const name of Object.keys(METHOD_ARGS)) {
  it(`continues after the last finished epoch and ends identical to an uninterrupted run (${name})`, async () => {
    method = name;
    const folder = (out: string) => join(work, `${name}-${out}`);
    const straight = sqakd(studentArgs('straight'));
    expect(straight.status, String(straight.stderr)).toBe(0);

    const killed: ChildProcess = spawn(process.execPath, ['bin/sqakd.js', ...studentArgs('killed')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => killed.on('exit', resolve));
    // Kill during the second epoch: once the first is logged, half as long as it took.
    await waitFor(() => loggedEpochs('killed').length >= 1, 'the first epoch');
    await new Promise((resolve) => setTimeout(resolve, loggedEpochs('killed')[0].seconds * 500));
    killed.kill('SIGKILL');
    await exited;
    const interrupted = loadCheckpoint<CheckpointMeta>(join(folder('killed'), 'checkpoint.ckpt')).meta;
    expect(existsSync(join(folder('killed'), 'result.json'))).toBe(false);
    expect(interrupted.epochsDone).toBeLessThan(3);
    console.log(`killed after ${interrupted.epochsDone} finished epoch(s); resuming`);
    expect(interrupted.environment?.threads).toBe(2);

    if (name === 'sqakd') {
      const before = folderSnapshot(folder('killed'));
      const otherThreads = sqakd(studentArgs('killed', 1));
      expect(otherThreads.status).toBe(2);
      expect(String(otherThreads.stderr)).toMatch(/trained under another numeric environment \(threads 2 -> 1\).*--allow-env-change/);
      expect(folderSnapshot(folder('killed'))).toEqual(before);
      cpSync(folder('killed'), folder('allowed'), { recursive: true });
      const allowed = sqakd([...studentArgs('allowed', 1), '--allow-env-change']);
      expect(allowed.status, String(allowed.stderr)).toBe(0);
      const result = storedResult('allowed');
      expect(result.environment.threads).toBe(1);
      expect(result.environmentChanges).toHaveLength(1);
      expect(result.environmentChanges![0]).toMatchObject({ afterEpochs: interrupted.epochsDone, from: { threads: 2 }, to: { threads: 1 } });
    }

    const resumed = sqakd(studentArgs('killed'));
    expect(resumed.status, String(resumed.stderr)).toBe(0);
    expect(resumed.stdout).toContain(`resuming after epoch ${interrupted.epochsDone} of 3`);
    expect(historyWithoutTimes('killed')).toEqual(historyWithoutTimes('straight'));
    expect(loggedEpochs('killed')).toHaveLength(3);

    const a = loadCheckpoint(join(folder('straight'), 'checkpoint.ckpt')).tensors;
    const b = loadCheckpoint(join(folder('killed'), 'checkpoint.ckpt')).tensors;
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...a.keys()].some((k) => k.startsWith('optimizer/1/'))).toBe(true);
    if (name === 'crd') {
      const distillerState = [...a.keys()].filter((k) => k.startsWith('distiller/'));
      expect(distillerState.filter((k) => /(student|teacher)Bank$|Z$/.test(k)), distillerState.join(', ')).toHaveLength(4);
    }
    for (const [key, t] of a) expect(Array.from(b.get(key)!.dataSync()), key).toEqual(Array.from(t.dataSync()));
  });
  }

  it('returns the finished result when run again, without training', () => {
    method = 'sqakd';
    const again = sqakd(studentArgs('straight'));
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already finished (3 epochs)');
  });
});
