// A trained model's parameters as one flat vector the landscape math sweeps (parameterSpace.ts), with the losses
// evaluated on a fixed subset in inference mode: batch norm uses its running statistics, the model stays quantized
// as trained, and nothing is recorded for gradients except where a gradient is asked for. Weights with filters
// (convolution and linear kernels: rank >= 2, in the model's optimizer group) are swept; biases, batch-norm
// parameters and the learned quantizer parameters are not (Li et al.'s "ignore biasbn"), and buffers stay fixed.
import * as tf from '@tensorflow/tfjs-core';

import { crossEntropy } from '../../methods/losses/crossEntropy.ts';
import { temperedKl } from '../../methods/losses/kl.ts';
import type { Classifier } from '../../models/classifier.ts';
import type { EvaluationSubset } from './evaluationSubset.ts';
import type { ParameterSpace, SweptTensor } from './parameterSpace.ts';

export interface LossSettings {
  /** The run's distillation temperature. */
  temperature: number;
  /** Weights of CE + KL. */
  weights: { ce: number; kl: number };
}

/** Why a parameter is swept or not, in the landscape's description. */
export const IGNORED_PARAMETERS = 'biases, batch-norm scales and shifts, and learned quantizer parameters get a zero ' +
  'direction; batch-norm running statistics and the quantizers\' learned bounds stay as trained';

/** The ParameterSpace of `model` on `subset`. */
export function modelSpace(model: Classifier, subset: EvaluationSubset, settings: LossSettings): ParameterSpace {
  model.eval();
  const params = model.namedParameters();
  const tensors: SweptTensor[] = params.map((p) => ({
    name: p.name, shape: [...p.variable.shape], swept: p.group === 'model' && p.variable.rank >= 2,
  }));
  const offsets: number[] = [];
  let size = 0;
  for (const p of params) {
    offsets.push(size);
    size += p.variable.size;
  }
  const hasTeacher = subset.batches.every((b) => b.teacherLogits !== null);

  /** Sums over the subset of the batch's losses (mean per image times images) and of top-1 hits. */
  const batchTerms = (b: EvaluationSubset['batches'][number], logits: tf.Tensor2D) => {
    const n = logits.shape[0];
    const ce = crossEntropy(logits, b.labels).mul(n);
    const kl = hasTeacher ? temperedKl(b.teacherLogits!, logits, settings.temperature).mul(n) : tf.scalar(NaN);
    return { ce, kl };
  };
  const combine = (loss: string, ce: tf.Scalar, kl: tf.Scalar): tf.Scalar => {
    if (loss === 'ce') return ce;
    if (loss === 'kl') return kl;
    if (loss === 'ce+kl') return ce.mul(settings.weights.ce).add(kl.mul(settings.weights.kl)) as tf.Scalar;
    throw new Error(`loss '${loss}' has no gradient (valid: ce, kl, ce+kl)`);
  };

  return {
    tensors, size,
    get() {
      const theta = new Float32Array(size);
      params.forEach((p, i) => theta.set(p.variable.dataSync() as Float32Array, offsets[i]));
      return theta;
    },
    set(theta) {
      if (theta.length !== size) throw new Error(`a parameter vector of ${theta.length} values for a model of ${size}`);
      params.forEach((p, i) => {
        tf.tidy(() => p.variable.assign(tf.tensor(theta.subarray(offsets[i], offsets[i] + p.variable.size), p.variable.shape, 'float32')));
      });
    },
    evaluate() {
      let ce = 0;
      let kl = 0;
      let hits = 0;
      for (const b of subset.batches) {
        const [c, k, h] = tf.tidy(() => {
          const logits = model.forward(b.x);
          const terms = batchTerms(b, logits);
          const correct = logits.argMax(1).equal(b.labels.toInt()).sum().toFloat();
          return tf.stack([terms.ce, terms.kl, correct]).dataSync();
        });
        ce += c;
        kl += k;
        hits += h;
      }
      const n = subset.count;
      const out: Record<string, number> = { ce: ce / n, acc: (100 * hits) / n };
      if (hasTeacher) {
        out.kl = kl / n;
        out['ce+kl'] = settings.weights.ce * out.ce + settings.weights.kl * out.kl;
      }
      return out;
    },
    gradient(loss) {
      if ((loss === 'kl' || loss === 'ce+kl') && !hasTeacher) throw new Error(`loss '${loss}' needs a teacher (--teacher)`);
      const swept = params.filter((_, i) => tensors[i].swept).map((p) => p.variable);
      const grad = new Float32Array(size);
      const sums = new Float64Array(size);
      let value = 0;
      for (const b of subset.batches) {
        const { value: v, grads } = tf.variableGrads(() => {
          const terms = batchTerms(b, model.forward(b.x));
          return combine(loss, terms.ce as tf.Scalar, terms.kl as tf.Scalar);
        }, swept);
        value += v.dataSync()[0];
        params.forEach((p, i) => {
          const g = grads[p.variable.name];
          if (!g) return;
          const data = g.dataSync();
          for (let j = 0; j < data.length; j++) sums[offsets[i] + j] += data[j];
        });
        tf.dispose([v, ...Object.values(grads)]);
      }
      for (let j = 0; j < size; j++) grad[j] = sums[j] / subset.count;
      return { value: value / subset.count, grad };
    },
  };
}
