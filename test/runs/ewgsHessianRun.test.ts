// --ewgs-delta hessian end to end, in-process on the built-in synthetic set with cnn-small (W2A2 EWGS, SQAKD from a
// one-epoch teacher, 512 training images): the estimate leaves every model buffer (batch-norm running statistics)
// as it found it; a two-epoch run estimates finite, non-zero deltas at epoch 1 and records them in its checkpoint;
// a run interrupted in its second epoch (after HESSIAN_EVERY's only estimate) resumes with the recorded deltas and
// ends bit-identical to the uninterrupted run, while the same resume with the deltas struck from the checkpoint does
// not. The uninterrupted run's result.json is also checked against DESIGN's contract.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { DataLoader } from '../../datasets/loader.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { initBackend } from '../../engine/index.ts';
import { EwgsQuantizer } from '../../methods/quantizers/ewgs.ts';
import { trainingMethod } from '../../methods/registry.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import { calibrateQuantizers, quantizeModel } from '../../models/quantize.ts';
import { createModel } from '../../models/registry.ts';
import { loadCheckpoint, saveCheckpoint } from '../../runs/checkpoint.ts';
import { estimateDeltas, HESSIAN_EVERY } from '../../runs/ewgsDeltas.ts';
import type { CheckpointMeta } from '../../runs/trainedModel.ts';
import { quantizationSpec, resolveTrainConfig, type TrainConfig } from '../../runs/trainConfig.ts';
import { type RunPlace, runTraining } from '../../runs/trainer.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-hessian-'));
const TRAIN_IMAGES = 512;
const EPOCHS = 2;
let backend: string;
let teacherPath: string;
let config: TrainConfig;

/** Where a run goes, with its log lines collected. */
function place(out: string, lines: string[] = [], afterStep?: () => void): RunPlace {
  return { out: join(work, out), dataDir: '', backend, progress: null, log: (l) => lines.push(l), afterStep };
}

function checkpointOf(out: string) {
  return loadCheckpoint<CheckpointMeta>(join(work, out, 'checkpoint.ckpt'));
}

function sameTensors(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): boolean {
  if ([...a.keys()].sort().join() !== [...b.keys()].sort().join()) return false;
  return [...a].every(([key, t]) => {
    const x = t.dataSync();
    const y = b.get(key)!.dataSync();
    return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  });
}

beforeAll(async () => {
  // The trainer and these tests must agree that a two-epoch run estimates once, before its first epoch only.
  expect(HESSIAN_EVERY).toBeGreaterThanOrEqual(EPOCHS);
  backend = await initBackend('libtorch');
  runTraining(resolveTrainConfig({ recipe: 'synthetic-cnn-small', epochs: 1, trainImages: TRAIN_IMAGES }), place('teacher'));
  teacherPath = join(work, 'teacher', 'checkpoint.ckpt');
  config = resolveTrainConfig({ recipe: 'synthetic-cnn-small', quantizer: 'ewgs', wBits: 2, aBits: 2, method: 'sqakd',
    teacher: teacherPath, epochs: EPOCHS, trainImages: TRAIN_IMAGES, ewgsDelta: 'hessian' });
});

describe('the Hessian estimate itself', () => {
  it('sets finite deltas and leaves every parameter and buffer (batch-norm running statistics) unchanged', () => {
    const spec = datasetSpec('synthetic');
    const set = spec.load('', 'train');
    const loader = new DataLoader(set, spec, { batchSize: 64, shuffle: true, seed: 3, augment: true, withLabels: true });
    const student = createModel('cnn-small', { classes: 10, inChannels: 3, seed: 1 });
    quantizeModel(student, quantizationSpec(config.quantization!));
    const first = loader.epoch(0).next().value!;
    calibrateQuantizers(student, first.x);
    tf.dispose([first.x, first.labels!]);
    student.train();
    const before = new Map([...student.stateDict()].map(([k, v]) => [k, v.clone()] as [string, tf.Tensor]));
    expect([...before.keys()].some((k) => k.endsWith('runningMean'))).toBe(true);
    const ce = trainingMethod('ce');
    const deltas = estimateDeltas(student, null, (inputs) => trainingLoss(ce, null, config.settings, inputs), null, loader,
      0, 11);
    const quantizers = student.namedModules().filter(([, m]) => m instanceof EwgsQuantizer);
    expect(Object.keys(deltas).sort()).toEqual(quantizers.map(([path]) => path).sort());
    for (const [path, q] of quantizers) expect((q as EwgsQuantizer).delta, path).toBe(deltas[path]);
    expect(Object.values(deltas).every(Number.isFinite)).toBe(true);
    expect(Object.values(deltas).some((d) => d > 0)).toBe(true);
    expect(sameTensors(student.stateDict(), before), 'the model state after the estimate').toBe(true);
    tf.dispose([...before.values()]);
    student.dispose();
  });
});

describe('a run with --ewgs-delta hessian', () => {
  it('records the estimated deltas; a resumed run restores them and ends bit-identical', () => {
    const lines: string[] = [];
    const straight = runTraining(config, place('straight', lines));
    expect(lines.filter((l) => l.includes('EWGS delta from the Hessian trace'))).toEqual([
      expect.stringMatching(/^epoch 1: EWGS delta from the Hessian trace, mean \S+ over 6 quantizers$/),
    ]);
    const deltas = checkpointOf('straight').meta.ewgsDeltas!;
    expect(Object.keys(deltas)).toHaveLength(6);
    expect(Object.values(deltas).every((d) => Number.isFinite(d) && d >= 0), JSON.stringify(deltas)).toBe(true);
    expect(Object.values(deltas).filter((d) => d > 0).length, JSON.stringify(deltas)).toBeGreaterThanOrEqual(3);
    expect(straight.history).toHaveLength(EPOCHS);

    // Interrupted in the middle of the second epoch: the checkpoint holds epoch 1 and the deltas.
    const stepsPerEpoch = Math.ceil(TRAIN_IMAGES / config.phase.batchSize);
    let steps = 0;
    const interrupt = () => {
      if (++steps === stepsPerEpoch + 2) throw new Error('interrupted');
    };
    expect(() => runTraining(config, place('resumed', [], interrupt))).toThrow('interrupted');
    const interrupted = checkpointOf('resumed').meta;
    expect(interrupted.epochsDone).toBe(1);
    expect(interrupted.ewgsDeltas).toEqual(deltas);
    // The same checkpoint without its deltas, as a control: resuming from it must not match.
    cpSync(join(work, 'resumed'), join(work, 'forgotten'), { recursive: true });
    const forgotten = checkpointOf('forgotten');
    saveCheckpoint(join(work, 'forgotten', 'checkpoint.ckpt'), { ...forgotten.meta, ewgsDeltas: undefined }, forgotten.tensors);

    const resumedLines: string[] = [];
    const resumed = runTraining(config, place('resumed', resumedLines));
    expect(resumedLines).toContain(`${join(work, 'resumed')}: resuming after epoch 1 of ${EPOCHS}`);
    expect(resumedLines.some((l) => l.includes('Hessian'))).toBe(false);
    const withoutTimes = (h: typeof resumed.history) => h.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);
    expect(withoutTimes(resumed.history)).toEqual(withoutTimes(straight.history));
    expect(checkpointOf('resumed').meta.ewgsDeltas).toEqual(deltas);
    expect(sameTensors(checkpointOf('resumed').tensors, checkpointOf('straight').tensors), 'resumed vs straight').toBe(true);

    runTraining(config, place('forgotten'));
    expect(sameTensors(checkpointOf('forgotten').tensors, checkpointOf('straight').tensors),
      'resumed with delta 0 vs straight').toBe(false);
  });

  it("writes result.json with every field of DESIGN's contract, of the right types", () => {
    const result = JSON.parse(readFileSync(join(work, 'straight', 'result.json'), 'utf8')) as Record<string, unknown>;
    const teacherMeta = checkpointOf('teacher').meta;
    expect(result).toMatchObject({
      method: 'sqakd', quantizer: 'ewgs', arch: 'cnn-small', dataset: 'synthetic', wBits: 2, aBits: 2, epochs: EPOCHS,
      teacherTop1: teacherMeta.history.at(-1)!.top1, labelsUsed: false, backend, seed: 1,
    });
    const types: Record<string, string> = {
      method: 'string', quantizer: 'string', arch: 'string', dataset: 'string', wBits: 'number', aBits: 'number',
      epochs: 'number', top1: 'number', top1Best: 'number', teacherTop1: 'number', labelsUsed: 'boolean',
      imagesPerSecond: 'number', wallSeconds: 'number', backend: 'string', seed: 'number', config: 'object',
    };
    for (const [field, type] of Object.entries(types)) expect(typeof result[field], field).toBe(type);
    const top1 = result.top1 as number;
    const top1Best = result.top1Best as number;
    expect(top1).toBeGreaterThanOrEqual(0);
    expect(top1Best).toBeGreaterThanOrEqual(top1);
    expect(top1Best).toBeLessThanOrEqual(100);
    expect(result.imagesPerSecond as number).toBeGreaterThan(0);
    expect(result.wallSeconds as number).toBeGreaterThan(0);
    expect(Number.isInteger(result.seed)).toBe(true);
    // The full resolved configuration, as the run was given it.
    expect(result.config).toEqual(JSON.parse(JSON.stringify(config)));
  });
});
