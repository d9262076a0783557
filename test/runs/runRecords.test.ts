// A run's records say where its numbers came from and what its loss was made of: result.json carries the
// provenance (package version, git commit and dirtiness, tfjs and libtorch versions, backend, device, BLAS, threads,
// host, start and end), and every log.jsonl line the loss's weighted terms, which add up to its total, for a CE, an
// SQAKD (KL only), a KD (CE + KL) and a feature-method (AT, CE + beta * AT) student and an FSP pre-stage. A student
// of a teacher below the top-1 threshold (twice chance by default) is warned about in its log, log.jsonl,
// result.json and the matrix table, or refused before training when asked. Students train one epoch over 256
// images of the built-in synthetic set (four steps each).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { temperedKl } from '../../methods/losses/kl.ts';
import { DEFAULT_METHOD_SETTINGS } from '../../methods/method.ts';
import { kd } from '../../methods/kd.ts';
import { trainingLossTerms } from '../../methods/trainingLoss.ts';
import { csvTable, markdownTable, REPORT_PRECISION, type ReportRow } from '../../reports/matrixTable.ts';
import { WeakTeacherError } from '../../runs/teacherCheck.ts';
import type { EpochRecord } from '../../runs/trainedModel.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { type RunPlace, type RunResult, runTraining } from '../../runs/trainer.ts';
import { cachedTeacher, SYNTHETIC_TEACHER } from '../support/teacherCache.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'sqakd-records-'));
let backend: string;
let teacher: string;
let weakTeacher: string;
let weakTop1: number;

function train(name: string, request: TrainRequest, place: Partial<RunPlace> = {}): { result: RunResult; log: string[] } {
  const log: string[] = [];
  const config = resolveTrainConfig({
    recipe: 'synthetic-cnn-small', quantizer: 'ewgs', wBits: 2, aBits: 2, epochs: 1, trainImages: 256, seed: 1, ...request,
  });
  const result = runTraining(config, { out: join(work, name), dataDir: work, backend, progress: null, log: (l) => log.push(l), ...place });
  return { result, log };
}

function logged(name: string): EpochRecord[] {
  return readFileSync(join(work, name, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochRecord);
}

/** Every record's terms add up to its total (float32 sums read back per step, then averaged in doubles). */
function expectTermsAddUp(records: EpochRecord[]): void {
  expect(records.length).toBeGreaterThan(0);
  for (const r of records) {
    const { ce, kl, feature, total } = r.loss!;
    expect(Math.abs(ce + kl + feature - total)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(total)));
    expect(r.trainLoss).toBe(total);
    expect(Number.isFinite(r.testLoss) && r.testLoss! > 0).toBe(true);
  }
}

describe('run records', () => {
  beforeAll(async () => {
    backend = await initBackend('libtorch');
    teacher = cachedTeacher(SYNTHETIC_TEACHER, { dataDir: resolveDataDir(), backend }).checkpoint;
    // One step of training: a teacher barely past its random start.
    const weak = runTraining(resolveTrainConfig({ recipe: 'synthetic-cnn-small', epochs: 1, trainImages: 64, seed: 1 }),
      { out: join(work, 'weak-teacher'), dataDir: work, backend, progress: null, log: () => {} });
    weakTeacher = join(work, 'weak-teacher', 'checkpoint.ckpt');
    weakTop1 = weak.top1;
  });

  it('result.json of a run carries every provenance field', () => {
    const before = new Date().toISOString();
    const { result } = train('ce', { method: 'ce', teacher });
    const stored = JSON.parse(readFileSync(join(work, 'ce', 'result.json'), 'utf8')) as RunResult;
    expect(stored.provenance).toEqual(result.provenance);
    const p = stored.provenance!;
    expect(Object.keys(p).sort()).toEqual(['backend', 'blas', 'device', 'finishedAt', 'gitCommit', 'gitDirty', 'host',
      'libtorchVersion', 'packageVersion', 'startedAt', 'tfjsVersion', 'threads']);
    expect(p.packageVersion).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
    if (head.status === 0) {
      expect(p.gitCommit).toBe(head.stdout.trim());
      expect(p.gitCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(typeof p.gitDirty).toBe('boolean');
    } else {
      expect(p.gitCommit).toBeNull();
      expect(p.gitDirty).toBeNull();
    }
    expect(p.tfjsVersion).toBe(tf.version_core);
    expect(p.libtorchVersion).toMatch(/^\d+\.\d+/);
    expect(p.backend).toBe('libtorch');
    expect(p.device).toBe(stored.environment.device);
    expect(p.blas).toBe(stored.environment.blas);
    expect(p.blas.length).toBeGreaterThan(0);
    expect(Number.isInteger(p.threads) && p.threads! > 0).toBe(true);
    expect(p.host).toBe(hostname());
    expect(before <= p.startedAt && p.startedAt <= p.finishedAt && p.finishedAt <= new Date().toISOString()).toBe(true);
    expect(stored.warnings).toBeUndefined();

    const [record] = logged('ce');
    expectTermsAddUp([record]);
    expect(record.loss).toMatchObject({ kl: 0, feature: 0, weights: { ce: 1, kl: 0, feature: 0 } });
    expect(record.loss!.ce).toBeGreaterThan(0);
    expect(Object.keys(record.learningRates!)).toEqual(['model', 'quantizer']);
    expect(record.learningRates!.model).toBe(record.lr);
    // EWGS learns clip bounds for both kinds and a per-layer output scale.
    expect(Object.keys(record.quantizers!).sort()).toEqual(['activation', 'output', 'weight']);
    expect(Object.keys(record.quantizers!.weight).sort()).toEqual(['lower', 'upper']);
    expect(record.quantizers!.weight.lower).toBeLessThan(0);
    expect(record.quantizers!.weight.upper).toBeGreaterThan(0);
    expect(record.quantizers!.output.scale).toBeGreaterThan(0);
  });

  it('logs loss terms that add up to the total for SQAKD, KD, AT and a pre-stage', () => {
    train('sqakd', { method: 'sqakd', teacher });
    const [sqakdRecord] = logged('sqakd');
    expectTermsAddUp([sqakdRecord]);
    expect(sqakdRecord.loss).toMatchObject({ ce: 0, feature: 0, weights: { ce: 0, kl: 1, feature: 0 } });

    train('kd', { method: 'kd', teacher });
    const [kdRecord] = logged('kd');
    expectTermsAddUp([kdRecord]);
    expect(kdRecord.loss!.ce).toBeGreaterThan(0);
    expect(kdRecord.loss!.kl).toBeGreaterThan(0);

    train('at', { method: 'at', teacher });
    const [atRecord] = logged('at');
    expectTermsAddUp([atRecord]);
    expect(atRecord.loss!.weights).toEqual({ ce: 1, kl: 0, feature: 1000 });
    expect(atRecord.loss!.ce).toBeGreaterThan(0);
    expect(atRecord.loss!.feature).toBeGreaterThan(0);

    train('fsp', { method: 'fsp', teacher, preEpochs: 1 });
    const fsp = logged('fsp');
    expect(fsp.map((r) => r.stage ?? 'main')).toEqual(['pre', 'main']);
    expectTermsAddUp(fsp);
    expect(fsp[0].loss).toMatchObject({ ce: 0, kl: 0, weights: { ce: 0, kl: 0, feature: 1 } });
    expect(fsp[0].loss!.feature).toBeGreaterThan(0);
  });

  it("splits KD's loss into its own cross-entropy and KL", () => {
    const logits = tf.randomNormal([8, 10], 0, 1, 'float32', 1) as tf.Tensor2D;
    const teacherLogits = tf.randomNormal([8, 10], 0, 1, 'float32', 2) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const settings = { ...DEFAULT_METHOD_SETTINGS, alpha: 3, gamma: 0.5 };
    const { total, terms } = trainingLossTerms(kd, null, settings, {
      student: { logits, features: [] }, teacher: { logits: teacherLogits, features: [] }, labels,
    });
    const kl = temperedKl(teacherLogits, logits, settings.temperature).mul(settings.alpha);
    expect(terms.kl!.dataSync()[0]).toBeCloseTo(kl.dataSync()[0], 5);
    expect(terms.ce!.dataSync()[0] + terms.kl!.dataSync()[0]).toBeCloseTo(total.dataSync()[0], 5);
    tf.dispose([logits, teacherLogits, labels, total, terms.ce!, terms.kl!, kl]);
  });

  it('warns about a teacher below twice chance, in the log, log.jsonl, result.json and the table', () => {
    expect(weakTop1).toBeLessThan(20);
    const { result, log } = train('weak-warn', { method: 'sqakd', teacher: weakTeacher });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings![0]).toMatch(new RegExp(`^weak teacher: the teacher's top-1 ${weakTop1.toFixed(2)}% is below 20\\.00% \\(2x chance for 10 classes\\)`));
    expect(log.some((l) => l.endsWith(result.warnings![0]))).toBe(true);
    expect(logged('weak-warn')[0].warnings).toEqual(result.warnings);
    // A strong teacher passes the default threshold, and fails one set above its top-1.
    const { result: strict } = train('strict-warn', { method: 'sqakd', teacher }, { teacherCheck: { minTop1: 100.5 } });
    expect(strict.warnings![0]).toMatch(/is below 100\.50% \(the minimum asked for\)/);

    const row: ReportRow = {
      dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', variant: 'STE', bits: 'W2A2', method: 'sqakd',
      labels: 'no', seed: 1, epochs: 1, top1: 61.23456, top1Best: 62.5, teacherTop1: weakTop1, deltaVsCe: -0.126,
      imagesPerSecond: 1234.5678, wallSeconds: 12.345, status: 'finished', warnings: result.warnings![0], cell: 'c',
    };
    const [header, line] = csvTable([row]).trim().split('\n');
    expect(header).toMatch(/,status,warnings,cell$/);
    expect(line).toMatch(/,61\.23,62\.50,\d+\.\d\d,-0\.13,1234\.6,12\.3,finished,weak teacher: .*,c$/);
    expect(markdownTable([row])).toMatch(/\| 61\.23 \| 62\.50 \| .* \| -0\.13 \| 1234\.6 \| 12\.3 \| finished \| weak teacher: /);
    expect(REPORT_PRECISION).toEqual({ accuracy: 2, imagesPerSecond: 1, seconds: 1 });
  });

  it("refuses a weak teacher's student before training when asked, naming top-1, threshold and the fix", () => {
    let message = '';
    try {
      train('weak-error', { method: 'sqakd', teacher: weakTeacher }, { teacherCheck: { action: 'error' } });
    } catch (e) {
      expect(e).toBeInstanceOf(WeakTeacherError);
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`top-1 ${weakTop1.toFixed(2)}% is below 20\\.00%.*--teacher-min-top1`));
    expect(message.split('\n')).toHaveLength(1);
    expect(existsSync(join(work, 'weak-error', 'checkpoint.ckpt'))).toBe(false);
    expect(existsSync(join(work, 'weak-error', 'log.jsonl'))).toBe(false);
  });
});
