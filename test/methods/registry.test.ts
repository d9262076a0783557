// The method registry as users and reports see it: `sqakd methods --json`, the label-free rules, method options and
// the tap checks, all with one-line errors naming what is wrong and what is valid.
import { spawnSync } from 'node:child_process';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { METHODS, trainingMethod } from '../../methods/registry.ts';
import { type ArchitectureOptions, Classifier, type ClassifierOutput } from '../../models/classifier.ts';
import { Linear } from '../../models/nn/index.ts';
import { createModel } from '../../models/registry.ts';
import { createDistiller } from '../../runs/distillation.ts';
import { resolveTrainConfig } from '../../runs/trainConfig.ts';

const NAMES = ['ce', 'kd', 'sqakd', 'at', 'nst', 'sp', 'rkd', 'crd', 'fitnet', 'cc', 'vid', 'fsp', 'ft', 'cktf'];

/** A model with only a pooled feature vector: no stage taps at all. */
class PooledOnly extends Classifier {
  readonly tapNames = ['pooled'];
  readonly fullPrecisionLayers: string[] = [];
  readonly classifierLayers = ['fc'];

  constructor({ classes }: ArchitectureOptions) {
    super();
    this.registerModule('fc', new Linear(3, classes));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const pooled = x.mean([1, 2]) as tf.Tensor2D;
    return { logits: this.child('fc').forward(pooled) as tf.Tensor2D, features: [pooled] };
  }
}

beforeAll(async () => {
  await initBackend('libtorch');
});

describe('the method registry', () => {
  it('holds the 14 methods under their lower-case short names', () => {
    expect(Object.keys(METHODS).sort()).toEqual([...NAMES].sort());
    expect(() => trainingMethod('fitnets')).toThrow(/^unknown method 'fitnets' \(valid: ce, kd, sqakd, at, .*cktf\)$/);
  });

  it('lists them with metadata from `sqakd methods --json`', () => {
    const run = spawnSync(process.execPath, ['bin/sqakd.js', 'methods', '--json'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name).sort()).toEqual([...NAMES].sort());
    for (const row of rows) {
      expect(typeof row.reference, String(row.name)).toBe('string');
      expect(typeof row.needsLabels).toBe('boolean');
      expect(typeof row.canRunLabelFree).toBe('boolean');
      expect(typeof row.transfers).toBe('string');
    }
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.sqakd).toMatchObject({ needsLabels: false, canRunLabelFree: true });
    expect(byName.ce).toMatchObject({ needsLabels: true, canRunLabelFree: false });
    expect(byName.fsp).toMatchObject({ canRunLabelFree: false, preEpochs: 30 });
    expect(byName.ft).toMatchObject({ canRunLabelFree: true, preEpochs: 30 });
    expect(byName.crd).toMatchObject({ needsIndices: true });
  });

  it('refuses label-free runs of methods that need labels, saying why', () => {
    const base = { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, teacher: 't.ckpt', labelFree: true };
    expect(() => resolveTrainConfig({ ...base, method: 'ce' })).toThrow(/^method ce cannot run label-free: /);
    expect(() => resolveTrainConfig({ ...base, method: 'kd' })).toThrow(/^method kd cannot run label-free: .*sqakd/);
    expect(() => resolveTrainConfig({ ...base, method: 'fsp' })).toThrow(/^method fsp cannot run label-free: /);
    const at = resolveTrainConfig({ ...base, method: 'at' });
    expect(at.settings).toMatchObject({ labelFree: true, alpha: 0, beta: 1000 });
  });

  it('gives feature methods CE weight 1 and KL weight 0 by default, as the paper ran them', () => {
    const crd = resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, method: 'crd', teacher: 't' });
    expect(crd.settings).toMatchObject({ gamma: 1, alpha: 0, beta: 0.8, labelFree: false });
    expect(crd.settings.options.negatives).toBe(16384);
  });

  it('rejects options a method does not have, listing the ones it has', () => {
    const base = { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, teacher: 't' };
    expect(() => resolveTrainConfig({ ...base, method: 'crd', methodOptions: { negative: 10 } }))
      .toThrow(/^method crd has no option negative \(valid: .*negatives/);
    expect(() => resolveTrainConfig({ ...base, method: 'sqakd', methodOptions: { p: 3 } })).toThrow(/it takes none/);
  });

  it('says which taps a method needs when an architecture lacks them', () => {
    const tiny = { classes: 10, inChannels: 3 };
    const student = new PooledOnly(tiny);
    const teacher = new PooledOnly(tiny);
    for (const name of ['at', 'nst', 'vid', 'fitnet', 'fsp', 'sp']) {
      const method = trainingMethod(name);
      expect(() => createDistiller(method, { ...resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs',
        wBits: 2, method: name, teacher: 't' }).settings }, student, teacher, [8, 8, 3], 100, 1), name)
        .toThrow(new RegExp(`^method ${name} .*pooled`));
    }
    student.dispose();
    teacher.dispose();
  });

  it('builds every feature method for every architecture', () => {
    const tiny = { classes: 10, inChannels: 3 };
    for (const arch of ['resnet20', 'vgg8', 'cnn-small', 'resnet18', 'mobilenetv2', 'shufflenetv2', 'squeezenet', 'vgg11bn']) {
      const student = createModel(arch, { ...tiny, seed: 1 });
      const teacher = createModel(arch, { ...tiny, seed: 2 });
      for (const method of Object.values(METHODS).filter((m) => m.kind === 'feature')) {
        const settings = resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2,
          method: method.name, teacher: 't', methodOptions: method.options.negatives ? { negatives: 8 } : undefined }).settings;
        const distiller = createDistiller(method, settings, student, teacher, [32, 32, 3], 64, 3);
        expect(distiller, `${method.name} on ${arch}`).not.toBeNull();
        distiller!.dispose();
      }
      student.dispose();
      teacher.dispose();
    }
  });
});
