// How the trainer's loss assembles a feature method's terms, against values worked out here in double: label-free
// with KL it is beta * own + alpha * T^2 KL and reads no label at all (the labels field is never touched, and
// garbage labels change nothing); with CE it adds gamma * CE; a method whose loss shapes only its pre-stage has
// nothing to train on label-free without KL; sample indices reach only the methods that declare they need them.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { at } from '../../methods/at.ts';
import { type DistillInputs, FeatureDistiller } from '../../methods/distiller.ts';
import { DEFAULT_METHOD_SETTINGS, featureMethod, type LossInputs, type MethodSettings } from '../../methods/method.ts';
import { trainingLoss } from '../../methods/trainingLoss.ts';
import { expectClose, lossValue, mean, seededFeatures, setupFor, TAP_NAMES, toTensor } from './support/featureMethods.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const STUDENT_LOGITS = [[1.5, -0.5, 0.25], [-1, 2, 0.5], [0.3, 0.1, -2]];
const TEACHER_LOGITS = [[2, 0, -1], [0.5, 1.5, 1], [-0.2, 0.4, -1]];
const LABELS = [2, 1, 0];
// One stand-in tap per model, a [2, 2, 1] map per sample.
const STUDENT_MAP = [0.5, -1, 2, 0.25, 1, 1, -0.5, 0, 3, -2, 0.75, 1.25];
const TEACHER_MAP = [1, 0, 1.5, -0.5, 0.5, 2, 0, 1, 2, -1, 0.5, 0.25];

/** A distiller whose own loss is mean((s - t)^2) over its one tap, recording the indices it is handed. */
class MseDistiller extends FeatureDistiller {
  readonly seen: Int32Array[] = [];

  constructor(override readonly usedInMainStage: boolean) {
    super();
  }

  loss({ student, teacher, indices }: DistillInputs): tf.Scalar {
    this.seen.push(indices);
    return student.features[0].sub(teacher.features[0]).square().mean() as tf.Scalar;
  }
}

function mseMethod(needsIndices: boolean, usedInMainStage = true) {
  return featureMethod({
    name: 'mse', description: 'test stand-in', reference: '-', transfers: '-', beta: 3, needsIndices,
    tapsRead: () => [0], createDistiller: () => new MseDistiller(usedInMainStage),
  });
}

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** T^2 * mean over samples of sum_k p_t log(p_t / p_s), p = softmax(z / T). */
function klJs(teacher: number[][], student: number[][], T: number): number {
  return T * T * mean(teacher.map((zt, i) => {
    const pt = softmax(zt.map((v) => v / T));
    const ps = softmax(student[i].map((v) => v / T));
    return pt.reduce((s, p, k) => s + p * Math.log(p / ps[k]), 0);
  }));
}

/** Mean over samples of -log softmax(z)[label]. */
const ceJs = (logits: number[][], labels: number[]) => mean(logits.map((z, i) => -Math.log(softmax(z)[labels[i]])));

const OWN = mean(STUDENT_MAP.map((v, i) => (v - TEACHER_MAP[i]) ** 2));

/** Loss inputs around the fixed tensors; `labels` is a getter counting how often the loss reads it. */
function inputs(labels: number[] | undefined, indices?: Int32Array): { value: LossInputs; reads: () => number } {
  let reads = 0;
  const tensor = labels && tf.tensor1d(labels, 'int32');
  const value: LossInputs = {
    student: { logits: tf.tensor2d(STUDENT_LOGITS), features: [tf.tensor(STUDENT_MAP, [3, 2, 2, 1])] },
    teacher: { logits: tf.tensor2d(TEACHER_LOGITS), features: [tf.tensor(TEACHER_MAP, [3, 2, 2, 1])] },
    indices,
  };
  Object.defineProperty(value, 'labels', { enumerable: true, get: () => { reads++; return tensor; } });
  return { value, reads: () => reads };
}

function total(settings: MethodSettings, labels: number[] | undefined, method = mseMethod(false)): { loss: number; reads: number } {
  const distiller = method.createDistiller!(setupFor([[2, 2, 1]], [[2, 2, 1]], {}, ['stage']));
  let reads = 0;
  const loss = tf.tidy(() => {
    const batch = inputs(labels, new Int32Array([4, 5, 6]));
    try {
      return trainingLoss(method, distiller, settings, batch.value).dataSync()[0];
    } finally {
      reads = batch.reads();
    }
  });
  return { loss, reads };
}

const LABEL_FREE_KL: MethodSettings = { ...DEFAULT_METHOD_SETTINGS, labelFree: true, alpha: 0.7, beta: 3, temperature: 4 };

describe('the training loss of a feature method', () => {
  it('label-free with KL: beta * own + alpha * T^2 KL, without reading the labels', () => {
    const expected = 3 * OWN + 0.7 * klJs(TEACHER_LOGITS, STUDENT_LOGITS, 4);
    expect(OWN).toBeGreaterThan(0.5);
    const withoutLabels = total(LABEL_FREE_KL, undefined);
    expectClose(withoutLabels.loss, expected, 'beta * own + alpha * KL');
    expect(withoutLabels.reads, 'reads of the labels field').toBe(0);
    // Labels no loss could use (out of range, negative) change nothing, and are not looked at either.
    const garbage = total(LABEL_FREE_KL, [-7, 999, 3]);
    expect(garbage.loss).toBe(withoutLabels.loss);
    expect(garbage.reads).toBe(0);
  });

  it('label-free with KL for a registered method (AT): beta * its loss + alpha * KL', () => {
    const shapes = [[4, 5, 2], [4, 5, 2], [3, 4, 3], [2, 3, 3], [6]];
    const distiller = at.createDistiller!(setupFor(shapes, shapes, {}, TAP_NAMES));
    const s = seededFeatures(3, shapes, 1);
    const t = seededFeatures(3, shapes, 2);
    const own = lossValue(distiller, s, t);
    const settings = { ...LABEL_FREE_KL, beta: at.beta };
    const loss = tf.tidy(() => trainingLoss(at, distiller, settings, {
      student: { logits: tf.tensor2d(STUDENT_LOGITS), features: s.map(toTensor) },
      teacher: { logits: tf.tensor2d(TEACHER_LOGITS), features: t.map(toTensor) },
    }).dataSync()[0]);
    expect(own).toBeGreaterThan(1e-3);
    expectClose(loss, at.beta * own + 0.7 * klJs(TEACHER_LOGITS, STUDENT_LOGITS, 4), 'AT label-free + KL');
    distiller.dispose();
  });

  it('with CE: gamma * CE + alpha * KL + beta * own, reading the labels', () => {
    const settings: MethodSettings = { ...LABEL_FREE_KL, labelFree: false, gamma: 1.5 };
    const { loss, reads } = total(settings, LABELS);
    expectClose(loss, 1.5 * ceJs(STUDENT_LOGITS, LABELS) + 0.7 * klJs(TEACHER_LOGITS, STUDENT_LOGITS, 4) + 3 * OWN,
      'gamma * CE + alpha * KL + beta * own');
    expect(reads).toBeGreaterThan(0);
    expect(() => total(settings, undefined)).toThrow(/^method mse needs labels but the batch carries none$/);
  });

  it('label-free without KL: beta * own alone; nothing at all for a pre-stage-only loss', () => {
    const settings = { ...LABEL_FREE_KL, alpha: 0 };
    expectClose(total(settings, undefined).loss, 3 * OWN, 'beta * own');
    expect(() => total(settings, undefined, mseMethod(false, false)))
      .toThrow(/^method mse run label-free without KL has nothing to train on \(add --alpha\)$/);
    expectClose(total(LABEL_FREE_KL, undefined, mseMethod(false, false)).loss, 0.7 * klJs(TEACHER_LOGITS, STUDENT_LOGITS, 4),
      'alpha * KL for a pre-stage-only loss');
  });

  it('hands the batch\'s sample indices only to a method that declares it needs them', () => {
    for (const needsIndices of [true, false]) {
      const method = mseMethod(needsIndices);
      const distiller = method.createDistiller!(setupFor([[2, 2, 1]], [[2, 2, 1]], {}, ['stage'])) as MseDistiller;
      tf.tidy(() => trainingLoss(method, distiller, LABEL_FREE_KL, inputs(undefined, new Int32Array([4, 5, 6])).value));
      expect(Array.from(distiller.seen[0]), `needsIndices ${needsIndices}`).toEqual(needsIndices ? [4, 5, 6] : []);
      if (needsIndices) {
        expect(() => tf.tidy(() => trainingLoss(method, distiller, LABEL_FREE_KL, inputs(undefined).value)))
          .toThrow(/^method mse needs the batch's sample indices but the batch carries none$/);
      }
    }
  });
});
