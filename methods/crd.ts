// Contrastive representation distillation (Tian et al., ICLR 2020; SPEC section 3: taps[-1], beta 0.8): the pooled
// vectors of student and teacher are embedded to 128-d (linear + L2 norm, both heads trainable) and each embedding
// is contrasted, by NCE with K negatives, against the other network's memory bank: its own sample's row is the
// positive, K uniformly drawn rows the negatives. Scores exp(e . m / T) / Z, Z fixed from the first batch; noise
// probability 1 / datasetSize; loss = L_student + L_teacher; then the banks' rows of the batch move towards the
// batch's embeddings with momentum 0.5 (see features/contrastiveMemory.ts for the formulas).
//
// Unlike the paper's code, which draws K negatives per sample, one set of K negatives is drawn per batch and shared
// by all its samples (bounded memory on CPU; the same objective in expectation), seeded by the batch's indices.
import * as tf from '@tensorflow/tfjs-core';

import { type DistillerSetup, type DistillInputs, FeatureDistiller } from './distiller.ts';
import { ContrastiveLevel, contrastiveSettings } from './features/contrastiveMemory.ts';
import { featureMethod, tapSlice } from './method.ts';

class CrdDistiller extends FeatureDistiller {
  /** `tap`: the index of the tap read; `levelName` (the tap's name) names the child holding heads and memory. */
  constructor(private readonly tap: number, private readonly levelName: string, setup: DistillerSetup) {
    super();
    const settings = contrastiveSettings('crd', setup.options, setup.datasetSize);
    this.registerModule(levelName, new ContrastiveLevel(setup.studentShapes[tap], setup.teacherShapes[tap], setup.datasetSize, settings));
  }

  /** The contrastive level (heads and memory), for inspection. */
  get level(): ContrastiveLevel {
    return this.child<ContrastiveLevel>(this.levelName);
  }

  loss({ student, teacher, indices }: DistillInputs): tf.Scalar {
    return this.level.loss(student.features[this.tap], teacher.features[this.tap], indices);
  }
}

const taps = (tapNames: readonly string[]) => tapSlice('crd', tapNames, -1);

export const crd = featureMethod({
  name: 'crd',
  description: 'contrasts 128-d embeddings of the pooled features with the other network\'s memory bank (NCE)',
  reference: 'Tian, Krishnan & Isola, Contrastive Representation Distillation, ICLR 2020',
  transfers: 'the teacher\'s representation structure across samples (mutual information, contrastive bound)',
  beta: 0.8,
  needsIndices: true,
  options: { dim: 128, negatives: 16384, temperature: 0.1, momentum: 0.5 },
  tapsRead: taps,
  createDistiller: (setup: DistillerSetup) => {
    const [tap] = taps(setup.tapNames);
    return new CrdDistiller(tap, setup.tapNames[tap], setup);
  },
});
