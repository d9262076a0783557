// The method registry as users and reports see it: `sqakd methods --json`, the label-free rules, method options and
// the tap checks, all with one-line errors naming what is wrong and what is valid.
import { spawnSync } from 'node:child_process';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { METHODS, trainingMethod } from '../../methods/registry.ts';
import { type ArchitectureOptions, Classifier, type ClassifierOutput } from '../../models/classifier.ts';
import { initializeParameters, Linear } from '../../models/nn/index.ts';
import { architectureNames, createModel } from '../../models/registry.ts';
import { createDistiller, featureParameters } from '../../runs/distillation.ts';
import { presetSpec } from '../../runs/matrix/presets.ts';
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
    expect(() => trainingMethod('fitnets')).toThrow(/^unknown method 'fitnets' \(did you mean 'fitnet'\?\) \(valid: ce, kd, sqakd, at, .*cktf\)$/);
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

  it('builds every feature method from its registry defaults when the setup gives no options at all', () => {
    const student = createModel('resnet20', { classes: 10, inChannels: 3, seed: 1 });
    const teacher = createModel('resnet20', { classes: 10, inChannels: 3, seed: 2 });
    for (const method of Object.values(METHODS).filter((m) => m.kind === 'feature')) {
      const settings = { ...resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2,
        method: method.name, teacher: 't' }).settings, options: {} };
      createDistiller(method, settings, student, teacher, [8, 8, 3], 32, 1)!.dispose();
    }
    student.dispose();
    teacher.dispose();
  });

  it('gives Table 7\'s preset every registered feature method, label-free wherever the registry allows it', () => {
    const methods = (presetSpec('table7').grids as Array<{ method: string[] }>)[0].method;
    const feature = Object.values(METHODS).filter((m) => m.kind === 'feature');
    expect(methods).toEqual(['ce', 'kd', 'sqakd', ...feature.map((m) => m.name),
      ...feature.filter((m) => m.labelFree.possible).map((m) => `${m.name}:label-free`)]);
    expect(methods).not.toContain('fsp:label-free');
    expect(methods).toContain('ft:label-free');
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

  // Every architecture of models/registry crossed with every feature method, at a small input (32 px: the
  // Tiny-ImageNet models accept it) and batch (3: RKD's distances and angles are constant for fewer samples). To stay
  // fast on 2 cores the student runs forward once per architecture for all eleven losses: each method's loss must be
  // finite with a finite gradient, non-zero but where noted, at every tap it declares it reads; then one backward of all the losses
  // together must reach every parameter of the student's feature layers, finite. Building each distiller with the
  // trainer's createDistiller (two forward passes each, to probe tap shapes) is checked in methodSteps.test.ts; here
  // the shapes are probed once per architecture and handed to the methods the same way.
  it('runs every feature method forward and backward on every architecture', () => {
    const featureMethods = Object.values(METHODS).filter((m) => m.kind === 'feature');
    expect(featureMethods.length).toBe(11);
    const indices = new Int32Array([5, 9, 17]);
    for (const arch of architectureNames()) {
      const student = createModel(arch, { classes: 10, inChannels: 3, seed: 1 }).train();
      const teacher = createModel(arch, { classes: 10, inChannels: 3, seed: 2 }).eval();
      const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const teacherOut = tf.tidy(() => teacher.forwardWithFeatures(x) as unknown as tf.TensorContainer) as unknown as ClassifierOutput;
      const before = tf.memory().numTensors;
      const distillers = featureMethods.map((method) => {
        const settings = resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2,
          method: method.name, teacher: 't', methodOptions: method.options.negatives ? { negatives: 8 } : undefined }).settings;
        const distiller = method.createDistiller!({
          tapNames: student.tapNames, studentShapes: teacherOut.features.map((f) => f.shape.slice(1)),
          teacherShapes: teacherOut.features.map((f) => f.shape.slice(1)), datasetSize: 64, options: settings.options,
        });
        initializeParameters(distiller, 3);
        return { method, distiller, read: method.tapsRead(student.tapNames) };
      });
      tf.tidy(() => {
        // The student's taps as variables: one variableGrads per method then gives the loss's gradient at each tap
        // it reads and at each of its own parameters, without a backward through the student.
        const studentOut = student.forwardWithFeatures(x);
        const taps = studentOut.features.map((f) => tf.variable(f, true));
        const atTaps = taps.map((t) => tf.zerosLike(t));
        for (const { method, distiller, read } of distillers) {
          const what = `${method.name} on ${arch}`;
          const own = distiller.namedParameters().map((p) => p.variable);
          const { value, grads } = tf.variableGrads(() => distiller.loss({
            student: { logits: studentOut.logits, features: taps }, teacher: teacherOut, indices,
          }), [...read.map((i) => taps[i]), ...own]);
          expect(Number.isFinite(value.dataSync()[0]), `${what}: loss ${value.dataSync()[0]}`).toBe(true);
          for (const i of read) {
            const g = grads[taps[i].name];
            const tap = student.tapNames[i];
            expect(g, `${what}: gradient at ${tap}`).toBeDefined();
            expect(g.isFinite().all().dataSync()[0], `${what}: finite gradient at ${tap}`).toBe(1);
            atTaps[i] = atTaps[i].add(g);
            // AT's and NST's maps and FT's factors are normalised over positions, so at a 1 x 1 map (the last
            // stages of the Tiny-ImageNet models at 32 px) they are constant and rightly pass no gradient.
            const [, h, w] = g.shape;
            if (['at', 'nst', 'ft'].includes(method.name) && h * w === 1) continue;
            expect(g.abs().max().dataSync()[0], `${what}: gradient at ${tap}`).toBeGreaterThan(0);
          }
          // (FT's paraphraser is fixed in the main stage, so not every head parameter gets a gradient.)
          for (const p of distiller.namedParameters()) {
            const g = grads[p.variable.name];
            if (g) expect(g.isFinite().all().dataSync()[0], `${what}: finite gradient of ${p.name}`).toBe(1);
          }
        }
        tf.dispose(taps);
        // One backward through the student of sum_tap <dL/dtap, tap>, L the sum of all the methods' losses: by the
        // chain rule its parameter gradient is L's, and it must reach every parameter of the feature layers.
        const studentParams = featureParameters(student);
        const { grads } = tf.variableGrads(() => tf.addN(student.forwardWithFeatures(x).features
          .map((f, i) => f.mul(atTaps[i]).sum())) as tf.Scalar, studentParams.map((p) => p.variable));
        for (const p of studentParams) {
          const g = grads[p.variable.name];
          expect(g, `${arch}: gradient of the student's ${p.name}`).toBeDefined();
          expect(g.isFinite().all().dataSync()[0], `${arch}: finite gradient of the student's ${p.name}`).toBe(1);
        }
        expect(Object.values(grads).some((g) => g.abs().max().dataSync()[0] > 0), `${arch}: non-zero student gradient`).toBe(true);
      });
      for (const { distiller } of distillers) distiller.dispose();
      expect(tf.memory().numTensors, `${arch}: tensors after the step`).toBe(before);
      tf.dispose([x, teacherOut.logits, ...teacherOut.features]);
      student.dispose();
      teacher.dispose();
    }
  });
});
