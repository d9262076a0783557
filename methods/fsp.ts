// Flow of solution procedure (SPEC section 3: taps[:-1], beta 50, a 30-epoch pre-stage on the student's feature
// layers, then cross-entropy only). Yim et al. describe the "flow" between two layers by the FSP matrix of two
// consecutive stage maps F1 [N, H, W, C1] and F2 [N, H, W, C2]:
//   G[n, i, j] = sum_{h, w} F1[n, h, w, i] * F2[n, h, w, j] / (H * W)        ([N, C1, C2])
// When the two maps differ in spatial size (a stage that downsamples), the larger one is average-pooled down to the
// smaller one first (non-overlapping windows of the size ratio, which must be a whole number in each axis; this is
// what adaptive average pooling does for such sizes). The loss is, as in the public code (SPEC section 3: "sum (not
// mean) over consecutive pairs of mean((G_s - G_t)^2)"), the sum over the consecutive pairs of mean((G_s - G_t)^2)
// over the batch and the C1 x C2 entries (the paper's sum, with the per-pair weights it sets to 1). Option
// meanOverPairs 1 takes the mean over the pairs instead, which differs by the constant number of pairs.
//
// The paper's setting (and the public code's): the FSP loss is minimised only in a pre-stage that trains the
// student's feature layers (everything but its classifier head), after which the main stage is plain cross-entropy
// (usedInMainStage = false). The pre-stage minimises the FSP loss as it is, without a weight: the distiller is not
// given the run's beta, and in the public code beta has no effect on FSP either (as we read it, its main stage has no
// FSP term and its pre-stage minimises the unweighted FSP loss). beta 50 is kept in the registry as the table's value; --beta does not change an
// FSP run. (With the pre-stage's Adam the loss scale matters only against the coupled weight decay and Adam's eps.)
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller, type PreStage } from './distiller.ts';
import { featureMethod, optionFlag, tapSlice } from './method.ts';

/** Integer pooling factors [fh, fw] taking a [h, w] map down to [toH, toW]; null when they are not whole numbers. */
function poolFactors(h: number, w: number, toH: number, toW: number): [number, number] | null {
  return h % toH === 0 && w % toW === 0 ? [h / toH, w / toW] : null;
}

/**
 * The FSP matrix of two NHWC maps, [N, C1, C2]: F1^T F2 over the spatial positions, divided by their number. The
 * larger map is average-pooled to the smaller's size first (whole-number ratios only).
 */
export function fspMatrix(first: tf.Tensor, second: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    let [a, b] = [first as tf.Tensor4D, second as tf.Tensor4D];
    const [n, ha, wa, c1] = a.shape;
    const [, hb, wb, c2] = b.shape;
    if (ha * wa > hb * wb) a = tf.avgPool(a, poolFactors(ha, wa, hb, wb)!, poolFactors(ha, wa, hb, wb)!, 'valid');
    else if (hb * wb > ha * wa) b = tf.avgPool(b, poolFactors(hb, wb, ha, wa)!, poolFactors(hb, wb, ha, wa)!, 'valid');
    const positions = a.shape[1] * a.shape[2];
    return tf.matMul(a.reshape([n, positions, c1]), b.reshape([n, positions, c2]), true, false).div(positions) as tf.Tensor3D;
  });
}

/** The FSP loss over consecutive maps: the sum (or the mean) over pairs of mean((G_s - G_t)^2). */
export function fspLoss(student: tf.Tensor[], teacher: tf.Tensor[], meanOverPairs = false): tf.Scalar {
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    for (let k = 0; k + 1 < student.length; k++) {
      terms.push(fspMatrix(student[k], student[k + 1]).sub(fspMatrix(teacher[k], teacher[k + 1])).square().mean());
    }
    const total = tf.addN(terms);
    return (meanOverPairs ? total.div(terms.length) : total) as tf.Scalar;
  });
}

class FspDistiller extends FeatureDistiller {
  override readonly usedInMainStage = false;
  override readonly preStage: PreStage;

  constructor(private readonly taps: number[], private readonly meanOverPairs: boolean) {
    super();
    this.preStage = {
      trains: 'student-features',
      loss: (inputs) => this.loss(inputs),
    };
  }

  loss({ student, teacher }: DistillInputs): tf.Scalar {
    return fspLoss(this.taps.map((i) => student.features[i]), this.taps.map((i) => teacher.features[i]), this.meanOverPairs);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('fsp', tapNames, 0, -1);

/** Checks the taps pair up into FSP matrices of equal shape in both models (one-line errors naming the taps). */
function checkShapes(setup: DistillerSetup, read: number[]): void {
  const name = (i: number) => setup.tapNames[i];
  if (read.length < 2) {
    throw new Error('method fsp needs at least two stage maps in taps[:-1], but the architecture has only ' +
      `${read.map(name).join(', ')}`);
  }
  for (const i of read) {
    const s = setup.studentShapes[i];
    const t = setup.teacherShapes[i];
    if (s.length !== 3 || t.length !== 3) {
      throw new Error(`method fsp reads spatial maps, but tap ${name(i)} is [${s}] (student) / [${t}] (teacher)`);
    }
    if (s[2] !== t[2]) {
      throw new Error(`method fsp needs tap ${name(i)} with the same channels in student and teacher (FSP matrices ` +
        `must match), got ${s[2]} and ${t[2]}`);
    }
  }
  for (let k = 0; k + 1 < read.length; k++) {
    for (const [who, shapes] of [['student', setup.studentShapes], ['teacher', setup.teacherShapes]] as const) {
      const [ha, wa] = shapes[read[k]];
      const [hb, wb] = shapes[read[k + 1]];
      const ok = ha * wa >= hb * wb ? poolFactors(ha, wa, hb, wb) : poolFactors(hb, wb, ha, wa);
      if (!ok) {
        throw new Error(`method fsp pools the larger of taps ${name(read[k])} (${ha}x${wa}) and ${name(read[k + 1])} ` +
          `(${hb}x${wb}) down to the smaller, which needs a whole-number ratio in each axis (${who})`);
      }
    }
  }
}

export const fsp = featureMethod({
  name: 'fsp',
  description: 'matches FSP matrices (F1^T F2 / HW of consecutive stage maps) in a pre-stage that trains the ' +
    'student\'s feature layers; the main stage is cross-entropy only (the pre-stage loss is unweighted: --beta has no effect)',
  reference: 'Yim, Joo, Bae & Kim, A Gift from Knowledge Distillation: Fast Optimization, Network Minimization and ' +
    'Transfer Learning, CVPR 2017',
  transfers: 'the flow between consecutive stages (FSP matrices), before training',
  beta: 50,
  preEpochs: 30,
  options: { meanOverPairs: 0 },
  labelFree: {
    possible: false,
    reason: 'FSP\'s loss is used only in its pre-stage, so its main stage is cross-entropy alone and needs labels ' +
      '(--alpha > 0 would give a label-free main stage a KL term, but that is KD after an FSP initialisation, not FSP)',
  },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const read = taps(setup.tapNames);
    checkShapes(setup, read);
    return new FspDistiller(read, optionFlag('fsp', setup.options, 'meanOverPairs'));
  },
});
