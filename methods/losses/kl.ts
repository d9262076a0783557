// The distillation loss of SQAKD and classic KD (SPEC section 1): T^2 * KL(softmax(z_t / T) || softmax(z_s / T)),
// summed over classes and averaged over the batch (PyTorch's kl_div with reduction='batchmean').
import * as tf from '@tensorflow/tfjs-core';

/** T^2-scaled KL divergence of the student's tempered softmax from the teacher's. */
export function temperedKl(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logTeacher = tf.logSoftmax(teacherLogits.div(temperature));
    const logStudent = tf.logSoftmax(studentLogits.div(temperature));
    const kl = logTeacher.exp().mul(logTeacher.sub(logStudent)).sum(1).mean();
    return kl.mul(temperature * temperature) as tf.Scalar;
  });
}
