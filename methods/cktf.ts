// Contrastive knowledge transfer framework (Zhao, Chen & Zhao, 2023; the SQAKD authors' earlier method; SPEC
// section 3: beta 1, theta 0.8, 4096 negatives): CRD's contrastive objective (features/contrastiveMemory.ts) at
// several depths, here every tap of the model: the stem, the last block of each stage (the stage taps) and the
// final pooled vector. Each depth has its own student and teacher embedding heads (spatial mean, linear to 128-d,
// L2 norm) and its own pair of memory banks, normaliser Z and negatives.
//
// The combination is the public code's (SPEC section 3: "loss = beta * L_final + theta * sum over intermediate
// depths"), beta 1 and theta 0.8:
//   loss = beta * (L_final + theta * sum over the intermediate depths of L_depth),
// each L being CRD's L_student + L_teacher at that depth; the trainer applies beta to the whole method loss, so with
// the default beta 1 this is the public code's beta * L_final + theta * sum exactly (another --beta scales both).
// Option convex 1 gives the reading of the paper's text this suite used first, a convex combination
//   loss = beta * (theta * L_final + (1 - theta) * mean over the intermediate depths of L_depth)   (theta in [0, 1]),
// kept because a mean keeps theta's balance between the final and the intermediate objectives the same whatever the
// number of stages (the sum gives ResNet-20's four intermediate depths together 3.2 times the final one's weight).
// As in crd.ts, one set of negatives is drawn per batch and depth, shared by the batch's samples (the paper's code
// draws them per sample; the same objective in expectation).
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { ContrastiveLevel, contrastiveSettings } from './features/contrastiveMemory.ts';
import { featureMethod, optionFlag, tapSlice } from './method.ts';

class CktfDistiller extends FeatureDistiller {
  private readonly theta: number;
  private readonly convex: boolean;

  /** One child per tap read, named by the tap. */
  constructor(private readonly taps: number[], private readonly tapNames: readonly string[], setup: DistillerSetup) {
    super();
    if (taps.length < 2) throw new Error(`method cktf needs at least 2 taps (intermediate and final), got ${taps.length}`);
    const theta = setup.options.theta;
    this.convex = optionFlag('cktf', setup.options, 'convex');
    if (this.convex && !(theta >= 0 && theta <= 1)) {
      throw new Error(`method cktf: option theta must be in [0, 1] with convex 1, got ${theta}`);
    }
    if (!(theta >= 0)) throw new Error(`method cktf: option theta must be >= 0, got ${theta}`);
    this.theta = theta;
    const settings = contrastiveSettings('cktf', setup.options, setup.datasetSize);
    for (const i of taps) {
      this.registerModule(tapNames[i], new ContrastiveLevel(setup.studentShapes[i], setup.teacherShapes[i], setup.datasetSize, settings));
    }
  }

  /** The contrastive level (heads and memory) of a tap, by tap index. */
  level(tap: number): ContrastiveLevel {
    return this.child<ContrastiveLevel>(this.tapNames[tap]);
  }

  /** Each level's loss, in tap order (the last is the final representation's). */
  levelLosses({ student, teacher, indices }: DistillInputs): tf.Scalar[] {
    return this.taps.map((i) => this.level(i).loss(student.features[i], teacher.features[i], indices));
  }

  loss(inputs: DistillInputs): tf.Scalar {
    return tf.tidy(() => {
      const losses = this.levelLosses(inputs);
      const final = losses.pop()!;
      const intermediate = tf.addN(losses);
      if (this.convex) return final.mul(this.theta).add(intermediate.div(losses.length).mul(1 - this.theta)) as tf.Scalar;
      return final.add(intermediate.mul(this.theta)) as tf.Scalar;
    });
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('cktf', tapNames, 0);

export const cktf = featureMethod({
  name: 'cktf',
  description: 'CRD-style contrastive objectives at the pooled features plus theta times those at the stem and every stage',
  reference: 'Zhao, Chen & Zhao, A Contrastive Knowledge Transfer Framework for Model Compression and Transfer Learning, ICASSP 2023',
  transfers: 'the teacher\'s representation structure across samples at every depth',
  beta: 1,
  needsIndices: true,
  options: { dim: 128, negatives: 4096, temperature: 0.1, momentum: 0.5, theta: 0.8, convex: 0 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => new CktfDistiller(taps(setup.tapNames), setup.tapNames, setup),
});
