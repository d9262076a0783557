// Bad input to `sqakd train` and `sqakd eval`: each stops with a one-line error naming what is wrong (and what is
// valid), exits 2 (bad input; 1 for a run that started and failed, as a NaN loss), and leaves earlier outputs exactly
// as they were.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

import { readCheckpointMeta } from '../../runs/checkpoint.ts';
import type { CheckpointMeta } from '../../runs/trainedModel.ts';
import { folderSnapshot } from '../support/folderSnapshot.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-bad-'));
const good = join(work, 'good');

async function sqakd(args: string[]) {
  const run = await execa(process.execPath, ['bin/sqakd.js', ...args], { reject: false });
  return { status: run.exitCode, stdout: run.stdout, errors: run.stderr.split('\n').filter((l) => l.startsWith('sqakd')) };
}

/** Expects exit `status` (bad input by default) with exactly one error line matching `pattern`. */
async function fails(args: string[], pattern: RegExp, status = 2): Promise<void> {
  const run = await sqakd(args);
  expect(run.status, run.stdout).toBe(status);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toMatch(pattern);
}

/** Runs independent failing commands side by side (each is mostly the CLI's start-up, on one core). */
async function allFail(cases: Array<[string[], RegExp]>): Promise<void> {
  await Promise.all(cases.map(([args, pattern]) => fails(args, pattern)));
}


const base = ['train', '--dataset', 'synthetic', '--epochs', '1', '--train-images', '512', '--quiet'];

describe('bad input', async () => {
  beforeAll(async () => {
    const run = await sqakd([...base, '--arch', 'cnn-small', '--out', good]);
    expect(run.status, run.errors.join('\n')).toBe(0);
  });

  it('rejects unknown names with the valid ones', async () => {
    await allFail([
      [[...base, '--arch', 'resnet99', '--out', join(work, 'x')], /unknown architecture 'resnet99' \(did you mean 'resnet20'\?\) \(valid: .*resnet20.*\)/],
      [[...base, '--arch', 'cnn-small', '--quantizer', 'binaryconnect', '--out', join(work, 'x')],
        /option '--quantizer <name>' argument 'binaryconnect' is invalid\. valid: none, ewgs, pact, lsq, dorefa, lsq-paper$/],
      [[...base, '--arch', 'cnn-small', '--objective', 'distill', '--out', join(work, 'x')], /unknown method 'distill' \(valid: .*sqakd.*\)/],
      [[...base, '--arch', 'cnn-small', '--dataset', 'imagenet', '--out', join(work, 'x')], /imagenet.*valid: .*cifar10/],
      [['train', '--recipe', 'cifar10-resnet21', '--out', join(work, 'x')], /unknown recipe 'cifar10-resnet21' \(did you mean 'cifar10-resnet20'\?\) \(valid: .*cifar10-resnet20/],
    ]);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('rejects --objective and --method naming different methods (one is an alias of the other)', async () => {
    await fails([...base, '--arch', 'cnn-small', '--objective', 'ce', '--method', 'kd', '--out', join(work, 'x')],
      /--objective ce and --method kd name the same setting; give one$/);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('says what a numeric flag accepts when given a negative number (not "ambiguous argument")', async () => {
    await allFail([
      [[...base, '--arch', 'cnn-small', '--batch-size', '-5', '--out', join(work, 'x')], /--batch-size must be a positive integer, got -5$/],
      [[...base, '--arch', 'cnn-small', '--epochs', '-1', '--out', join(work, 'x')], /--epochs must be a positive integer, got -1$/],
      [[...base, '--arch', 'cnn-small', '--lr', '-0.1', '--out', join(work, 'x')], /--lr must be a positive number, got -0.1$/],
      [[...base, '--arch', 'cnn-small', '--threads', '-2', '--out', join(work, 'x')], /--threads must be a positive integer, got '-2'$/],
    ]);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('rejects bit widths outside 1..8', async () => {
    await allFail([
      [[...base, '--arch', 'cnn-small', '--quantizer', 'ewgs', '--w-bits', '0', '--out', join(work, 'x')],
        /weight bits.*1 to 8, got 0/],
      [[...base, '--arch', 'cnn-small', '--quantizer', 'lsq', '--w-bits', '4', '--a-bits', '9', '--out', join(work, 'x')],
        /activation bits.*1 to 8, got 9/],
      [[...base, '--arch', 'cnn-small', '--quantizer', 'ewgs', '--w-bits', '2.5', '--out', join(work, 'x')],
        /--w-bits must be an integer/],
    ]);
  });

  it('names the folder of a missing dataset', async () => {
    await fails([...base, '--arch', 'cnn-small', '--dataset', 'cifar100', '--data-dir', join(work, 'empty'), '--out', join(work, 'x')],
      /cifar-100-binary/);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('refuses a teacher or checkpoint of another architecture', async () => {
    await allFail([
      [[...base, '--arch', 'resnet20', '--quantizer', 'ewgs', '--w-bits', '2', '--objective', 'sqakd', '--teacher',
        join(good, 'checkpoint.ckpt'), '--out', join(work, 'y')], /teacher .* holds a cnn-small for synthetic.*student is a resnet20/],
      [['eval', '--checkpoint', join(good, 'checkpoint.ckpt'), '--arch', 'vgg8'], /holds a cnn-small for synthetic .*not a vgg8/],
      [['eval', '--checkpoint', join(work, 'nothing.ckpt')], /does not exist/],
      [[...base, '--arch', 'cnn-small', '--objective', 'sqakd', '--out', join(work, 'y')], /method sqakd distils from a teacher: pass --teacher/],
    ]);
  });

  it('stops on a NaN loss with one line, writing no result', async () => {
    await fails([...base, '--arch', 'cnn-small', '--lr', '1e30', '--out', join(work, 'nan')],
      /loss is (NaN|Infinity|-Infinity) at epoch 1, step \d+ .*nothing was saved/, 1);
    expect(existsSync(join(work, 'nan', 'result.json'))).toBe(false);
    expect(existsSync(join(work, 'nan', 'checkpoint.ckpt'))).toBe(false);
  });

  it('stops on a NaN loss after saved epochs with one line, leaving their checkpoint, log and config intact', async () => {
    // One step per epoch: the first loss comes from the initial weights and is finite; its update at lr 1e30
    // makes the second epoch's loss NaN, after the first epoch was saved.
    const out = join(work, 'nan-later');
    const args = ['train', '--dataset', 'synthetic', '--arch', 'cnn-small', '--epochs', '3', '--train-images', '64',
      '--batch-size', '64', '--lr', '1e30', '--quiet', '--out', out];
    const stopped = /loss is (NaN|Infinity|-Infinity) at epoch 2, step 1 .*the checkpoint after 1 epoch\(s\) is intact$/;
    await fails(args, stopped, 1);
    expect(existsSync(join(out, 'result.json'))).toBe(false);
    const meta = readCheckpointMeta<CheckpointMeta>(join(out, 'checkpoint.ckpt'))!;
    expect(meta.epochsDone).toBe(1);
    const logged = readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
    expect(logged).toEqual(meta.history);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual({ ...meta.config, environment: meta.environment });
    // Asked again, it resumes after the saved epoch, stops the same way and changes none of the files.
    const before = folderSnapshot(out);
    await fails(args, stopped, 1);
    expect(folderSnapshot(out)).toEqual(before);
  });

  it('rejects a quantizer-specific flag with another quantizer, naming the flag and the quantizers it applies to', async () => {
    const x = join(work, 'x');
    const fp = [...base, '--arch', 'cnn-small', '--out', x];
    const quantized = (q: string) => [...fp, '--quantizer', q, '--w-bits', '2'];
    await allFail([
      [[...quantized('lsq'), '--pact-fixed-alpha'], /--pact-fixed-alpha applies to the pact quantizer, not lsq$/],
      [[...quantized('ewgs'), '--pact-fixed-alpha'], /--pact-fixed-alpha applies to the pact quantizer, not ewgs$/],
      [[...fp, '--pact-fixed-alpha'], /--pact-fixed-alpha applies to the pact quantizer, not none \(full precision\)$/],
      [[...quantized('pact'), '--ewgs-delta', 'hessian'], /--ewgs-delta applies to the ewgs quantizer, not pact$/],
      [[...quantized('dorefa'), '--ewgs-delta', '0.2'], /--ewgs-delta applies to the ewgs quantizer, not dorefa$/],
      [[...fp, '--ewgs-delta', '0.2'], /--ewgs-delta applies to the ewgs quantizer, not none \(full precision\)$/],
    ]);
    const anyQuantizer = 'applies to quantized models \\(--quantizer ewgs, pact, lsq, dorefa, lsq-paper\\), not none \\(full precision\\)$';
    await allFail([
      [[...fp, '--per-channel'], new RegExp(`--per-channel ${anyQuantizer}`)],
      [[...fp, '--fp-layers', 'fc'], new RegExp(`--fp-layers ${anyQuantizer}`)],
      [[...fp, '--lr-quantizer', '1e-4'], new RegExp(`--lr-quantizer ${anyQuantizer}`)],
    ]);
    expect(existsSync(x)).toBe(false);
  });

  it('leaves an earlier run untouched when asked to write another configuration over it', async () => {
    const before = folderSnapshot(good);
    await allFail([
      [[...base, '--arch', 'cnn-small', '--seed', '2', '--out', good], /holds files of a run with another configuration/],
      [[...base, '--arch', 'cnn-small', '--lr', '1e30', '--out', good], /holds files of a run with another configuration/],
    ]);
    expect(folderSnapshot(good)).toEqual(before);
  });
});
