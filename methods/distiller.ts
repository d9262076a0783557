// The run-time part of a feature method: a Module holding its trainable heads (regressors, embeddings; trained
// with the model's optimizer) and its state (buffers such as CRD's memory bank; saved in checkpoints), and its
// loss over the student's and teacher's feature taps. A method may add a pre-stage (FSP, FT).
import type * as tf from '@tensorflow/tfjs-core';

import type { ClassifierOutput } from '../models/classifier.ts';
import { Module } from '../models/nn/module.ts';

export interface DistillerSetup {
  tapNames: readonly string[];
  /** Shapes of every tap without the batch dimension: [H, W, C] for stages, [C] for the pooled vector. */
  studentShapes: number[][];
  teacherShapes: number[][];
  /** Training-set size (memory banks have one row per sample). */
  datasetSize: number;
  options: Record<string, number>;
}

export interface DistillInputs {
  student: ClassifierOutput;
  teacher: ClassifierOutput;
  /** Dataset indices of the batch's samples. */
  indices: Int32Array;
}

export interface PreStage {
  /**
   * What the pre-stage trains: the student's feature layers (all but its classifier head, FSP), or one child module
   * of the distiller, by its registered name (FT's paraphraser).
   */
  trains: 'student-features' | { distillerChild: string };
  loss(inputs: DistillInputs): tf.Scalar;
}

export abstract class FeatureDistiller extends Module {
  /** Whether the feature loss is part of the main training (FSP's is used in its pre-stage only). */
  readonly usedInMainStage: boolean = true;
  readonly preStage: PreStage | null = null;

  /** The method's own loss, before its weight beta. */
  abstract loss(inputs: DistillInputs): tf.Scalar;

  forward(): tf.Tensor {
    throw new Error('a distiller has no forward pass; use loss()');
  }
}
