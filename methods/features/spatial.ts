// Helpers for methods that compare spatial feature maps (NHWC) of the student and the teacher.
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Rows scaled to unit L2 norm (PyTorch's F.normalize, eps 1e-12: x / max(|x|, eps)). The clamp is taken on the
 * squared norm, sqrt(max(|x|^2, eps^2)), which has the same value but a finite gradient for an all-zero row (a dead
 * channel, a zero difference vector): sqrt's derivative at 0 would otherwise turn the row's gradient into NaN.
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return x.div(x.square().sum(1, true).maximum(1e-24).sqrt());
}

/** Checks a tap has the same spatial size in both models (a one-line error naming the tap otherwise). */
export function requireSameSpatial(method: string, tap: string, student: number[], teacher: number[]): void {
  if (student.length !== 3 || teacher.length !== 3) {
    throw new Error(`method ${method} reads spatial maps, but tap ${tap} is [${student}] (student) / [${teacher}] (teacher)`);
  }
  if (student[0] !== teacher[0] || student[1] !== teacher[1]) {
    throw new Error(`method ${method} needs tap ${tap} at the same spatial size in student and teacher, got ` +
      `${student[0]}x${student[1]} and ${teacher[0]}x${teacher[1]}`);
  }
}
