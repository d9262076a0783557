// End-to-end check of a feature method's pre-stage through the CLI and the trainer: the cached full-precision
// cnn-small teacher of the built-in synthetic set, then a quantized student (EWGS W2A2) with the method, 2 pre-stage
// epochs and 1 main epoch over the first 1,000 images, run twice: once straight through, once killed (SIGKILL) after
// its first pre-stage epoch is logged and then resumed (the two go side by side, one thread each). Both must end bit-identical, and the log
// must hold the 2 pre-stage epochs, then the main one. Returns the teacher's checkpoint and the student's after one
// pre-stage epoch, after the pre-stage and at the end, for the method's own checks. Needs the method in
// methods/registry.ts (the CLI looks it up there).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { type Checkpoint, loadCheckpoint } from '../../runs/checkpoint.ts';
import type { CheckpointMeta } from '../../runs/trainedModel.ts';
import { cachedTeacher, SYNTHETIC_TEACHER } from './teacherCache.ts';

/** The training images of the students (the first of the synthetic set). */
export const PRE_STAGE_TRAIN_IMAGES = 1000;

export interface PreStageRuns {
  /** The teacher's checkpoint tensors. */
  teacher: Map<string, tf.Tensor>;
  /** The killed run's checkpoint: after exactly one pre-stage epoch. */
  afterFirstPreEpoch: Map<string, tf.Tensor>;
  /** The uninterrupted run's checkpoint after the whole pre-stage (2 epochs), before the main stage. */
  afterPreStage: Map<string, tf.Tensor>;
  /** The final checkpoint (straight run; the resumed one is checked equal to it). */
  final: Map<string, tf.Tensor>;
}

interface Finished { status: number | null; stdout: string; stderr: string }

/** The CLI as a child process that does not block this one; `done` resolves with its exit status and output. */
function cliAsync(args: string[]): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, ['bin/sqakd.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return { child, done: new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr }))) };
}

function logLines(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 300_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const withoutTimes = (records: Array<Record<string, unknown>>) =>
  records.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);

/** Runs the check for `method`; returns the checkpoints for method-specific checks. */
export async function checkPreStageResume(method: string): Promise<PreStageRuns> {
  const work = mkdtempSync(join(tmpdir(), `sqakd-${method}-pre-`));
  const backend = await initBackend('libtorch');
  const teacherPath = cachedTeacher(SYNTHETIC_TEACHER, { dataDir: resolveDataDir(), backend }).checkpoint;
  const studentArgs = (out: string) => ['train', '--recipe', 'synthetic-cnn-small', '--quantizer', 'ewgs', '--w-bits', '2',
    '--a-bits', '2', '--method', method, '--teacher', teacherPath, '--pre-epochs', '2', '--epochs', '1',
    '--batch-size', '128', '--train-images', String(PRE_STAGE_TRAIN_IMAGES), '--quiet', '--out', join(work, out)];

  // The uninterrupted run goes alongside the killed-and-resumed one (each on one thread; they share nothing).
  const straight = cliAsync(studentArgs('straight'));
  let straightExited = false;
  void straight.done.then(() => { straightExited = true; });
  // Its checkpoint between the stages, read as soon as the second pre-stage epoch is logged (the next write is a
  // whole main epoch later; writes are atomic renames).
  const betweenStages = waitFor(() => straightExited || logLines(join(work, 'straight', 'log.jsonl')).length >= 2,
    'the second pre-stage epoch').then(() => loadCheckpoint<CheckpointMeta>(join(work, 'straight', 'checkpoint.ckpt')));
  void betweenStages.catch(() => undefined); // (awaited below; a failure before then is reported by its own check)
  const killed = cliAsync(studentArgs('killed'));
  let killedExited = false;
  void killed.done.then(() => { killedExited = true; });
  let interrupted: Checkpoint<CheckpointMeta>;
  try {
    // The checkpoint is written before the log line, so once the line is there the checkpoint holds that epoch.
    await waitFor(() => killedExited || logLines(join(work, 'killed', 'log.jsonl')).length >= 1, 'the first pre-stage epoch');
    killed.child.kill('SIGKILL');
    const end = await killed.done;
    expect(end.status, `the run to kill ended by itself: ${end.stderr}`).toBe(null);
    expect(existsSync(join(work, 'killed', 'result.json'))).toBe(false);
    interrupted = loadCheckpoint<CheckpointMeta>(join(work, 'killed', 'checkpoint.ckpt'));
    expect(interrupted.meta.preHistory?.length).toBe(1);
    expect(interrupted.meta.epochsDone).toBe(0);

    const resumed = await cliAsync(studentArgs('killed')).done;
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming after pre-stage epoch 1 of 2');
    const straightDone = await straight.done;
    expect(straightDone.status, straightDone.stderr).toBe(0);
  } finally {
    straight.child.kill('SIGKILL');
  }
  const straightLog = logLines(join(work, 'straight', 'log.jsonl'));
  expect(straightLog.map((r) => [r.stage ?? 'main', r.epoch])).toEqual([['pre', 1], ['pre', 2], ['main', 1]]);
  const resumedLog = logLines(join(work, 'killed', 'log.jsonl'));
  expect(resumedLog.map((r) => [r.stage ?? 'main', r.epoch])).toEqual([['pre', 1], ['pre', 2], ['main', 1]]);
  expect(withoutTimes(resumedLog)).toEqual(withoutTimes(straightLog));

  const afterPreStage = await betweenStages;
  expect(afterPreStage.meta.preHistory?.length).toBe(2);
  expect(afterPreStage.meta.epochsDone).toBe(0);

  const a = loadCheckpoint(join(work, 'straight', 'checkpoint.ckpt')).tensors;
  const b = loadCheckpoint(join(work, 'killed', 'checkpoint.ckpt')).tensors;
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  expect([...a.keys()].some((k) => k.startsWith('preOptimizer/'))).toBe(true);
  for (const [name, t] of a) expect(Array.from(b.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
  return {
    teacher: loadCheckpoint(teacherPath).tensors, afterFirstPreEpoch: interrupted!.tensors, afterPreStage: afterPreStage.tensors,
    final: a,
  };
}
