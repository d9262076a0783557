// The method side of a run: which taps it reads (checked against the architecture before anything is written),
// and the distiller a feature method trains alongside the student.
import * as tf from '@tensorflow/tfjs-core';

import type { FeatureDistiller } from '../methods/distiller.ts';
import type { MethodSettings, TrainingMethod } from '../methods/method.ts';
import type { Classifier } from '../models/classifier.ts';
import { initializeParameters } from '../models/nn/index.ts';

/** Shapes of every tap of a model (without the batch dimension), from a forward pass in evaluation mode. */
function tapShapes(model: Classifier, input: [number, number, number]): number[][] {
  const training = model.training;
  model.eval();
  try {
    return tf.tidy(() => model.forwardWithFeatures(tf.zeros([2, ...input])).features.map((f) => f.shape.slice(1)));
  } finally {
    model.train(training);
  }
}

/** Builds a feature method's distiller for a student/teacher pair; null for objectives. */
export function createDistiller(method: TrainingMethod, settings: MethodSettings, student: Classifier,
  teacher: Classifier | null, input: [number, number, number], datasetSize: number, seed: number): FeatureDistiller | null {
  method.tapsRead(student.tapNames);
  if (method.kind !== 'feature') return null;
  if (!teacher) throw new Error(`method ${method.name} distils from a teacher; pass --teacher <checkpoint>`);
  const distiller = method.createDistiller!({
    tapNames: student.tapNames, studentShapes: tapShapes(student, input), teacherShapes: tapShapes(teacher, input),
    datasetSize, options: settings.options,
  });
  initializeParameters(distiller, seed);
  return distiller;
}

/** The student's parameters outside its classifier head: what a 'student-features' pre-stage trains. */
export function featureParameters(student: Classifier) {
  const classifier = student.classifierLayers;
  return student.namedParameters().filter((p) => !classifier.some((c) => p.name === c || p.name.startsWith(`${c}.`)));
}
