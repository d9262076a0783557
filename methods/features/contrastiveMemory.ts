// The pieces of contrastive representation distillation (Tian et al., ICLR 2020) that CRD (one level, on the pooled
// vector) and CKTF (one level per depth) share: embedding heads on a student and a teacher tap, two memory banks
// with one unit-norm row per training sample, and the NCE loss that contrasts each embedding with the other
// network's bank.
//
// For a batch of B samples with dataset indices idx, N = dataset size, K negatives, temperature T:
//   score of an embedding e against a bank row m:  P(e, m) = exp(e . m / T) / Z
//   student side: e = the student's embedding of sample i, positive m = teacherBank[idx_i], negatives
//   teacherBank[j] for the K drawn rows j; teacher side the same with the roles (and studentBank) swapped.
//   Z (one per side) is estimated on the first batch as mean(all B (K + 1) scores exp(e . m / T)) * N, then kept
//   fixed (a buffer: saved in checkpoints, so a resumed run keeps it).
//   NCE with noise probability Pn = 1 / N:
//     L_side = -1/B sum_i [ log(P_pos / (P_pos + K Pn)) + sum_j log(K Pn / (P_neg_j + K Pn)) ]
//   computed in the log domain: -log(P / (P + c)) = softplus(log c - log P), -log(c / (P + c)) = softplus(log P - log c).
//   The level's loss is L_student + L_teacher. Afterwards rows idx of each bank move towards the batch's embeddings:
//     m <- normalize(momentum * m + (1 - momentum) * e)   (no gradient; the banks are assigned).
//
// Negatives: the paper's code draws K rows per sample (a [B, K + 1, dim] gather: 1 GB at B = 128, K = 16384).
// Here ONE set of K rows, drawn uniformly with replacement, is shared by every sample of the batch and by both sides
// ([K, dim] and a [B, K] score matrix). Each sample still sees K uniform draws, so the objective is the same in
// expectation; only the draws are correlated across the samples of a batch. The draws come from a generator
// seeded by the memory's seed (a buffer) and the batch's indices, so a resumed run draws the same negatives.
import * as tf from '@tensorflow/tfjs-core';

import { mixSeed, uniformStream } from '../../datasets/random.ts';
import { customGradient } from '../../engine/index.ts';
import { Module } from '../../models/nn/module.ts';
import { Embedding } from './embedding.ts';
import { l2Normalize } from './spatial.ts';

export interface ContrastiveSettings {
  /** Embedding width (128 in CRD). */
  dim: number;
  /** Negatives per batch as asked for; the memory caps them at datasetSize - 1. */
  negatives: number;
  temperature: number;
  /** Memory momentum: the share of a bank row kept at each update. */
  momentum: number;
}

/** A method's options read as contrastive settings, with one-line errors for values that cannot work. */
export function contrastiveSettings(method: string, options: Record<string, number>, datasetSize: number): ContrastiveSettings {
  const { dim, negatives, temperature, momentum } = options;
  const integer = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`method ${method}: option ${name} must be an integer >= ${min}, got ${v}`);
  };
  integer('dim', dim, 1);
  integer('negatives', negatives, 1);
  if (!(temperature > 0)) throw new Error(`method ${method}: option temperature must be > 0, got ${temperature}`);
  if (!(momentum >= 0 && momentum < 1)) throw new Error(`method ${method}: option momentum must be in [0, 1), got ${momentum}`);
  if (!Number.isInteger(datasetSize) || datasetSize < 2) {
    throw new Error(`method ${method} needs a training set of at least 2 samples for its memory bank, got ${datasetSize}`);
  }
  return { dim, negatives, temperature, momentum };
}

/**
 * Runs `compute` so that an active gradient tape (tf.variableGrads) does not record it: its result is a constant
 * to the gradient. tfjs records every op run while a gradient is taken and keeps clones of the inputs its backward
 * would need until the gradient is done; for the banks' reads and writes that would hold the banks' old contents
 * and full-size temporaries ([datasetSize, dim] each) for the whole step. Ops run inside a kernel are not
 * recorded, and a custom-gradient op's forward runs as a kernel, so `compute` runs as one (with no inputs, so it
 * never lies on a path to the loss and its gradient is never asked for).
 */
function untaped<T extends tf.Tensor>(compute: () => T): T {
  return customGradient<[]>(() => ({ value: compute(), gradFunc: () => [] }))() as T;
}

/** `rows` x `dim` values uniform in [-1, 1) from a seed, each row scaled to unit L2 norm (in double precision). */
export function randomUnitRows(rows: number, dim: number, seed: number): Float32Array {
  const uniform = uniformStream(seed);
  const out = new Float32Array(rows * dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      row[c] = 2 * uniform() - 1;
      norm += row[c] * row[c];
    }
    norm = Math.max(Math.sqrt(norm), 1e-12);
    for (let c = 0; c < dim; c++) out[r * dim + c] = row[c] / norm;
  }
  return out;
}

/** Which side of a contrastive level: the student's embeddings (contrasted with the teacher bank) or the teacher's. */
export type ContrastSide = 'student' | 'teacher';

/**
 * The two memory banks of a contrastive level, their normalising constants, and the NCE loss. Buffers:
 * studentBank / teacherBank [datasetSize, dim] (each sample's last embeddings, unit rows), studentZ / teacherZ
 * (the normaliser of the student's / teacher's scores; 0 until the first batch sets it), seed (int32, the
 * negatives' generator). Drawn by resetParameters (initializeParameters), zeros until then.
 */
export class ContrastMemory extends Module {
  readonly datasetSize: number;
  readonly dim: number;
  /** Negatives per batch: the option, capped at datasetSize - 1. */
  readonly negatives: number;
  readonly temperature: number;
  readonly momentum: number;
  readonly studentBank: tf.Variable;
  readonly teacherBank: tf.Variable;
  readonly studentZ: tf.Variable;
  readonly teacherZ: tf.Variable;
  readonly seed: tf.Variable;

  constructor(datasetSize: number, settings: ContrastiveSettings) {
    super();
    this.datasetSize = datasetSize;
    this.dim = settings.dim;
    this.negatives = Math.min(settings.negatives, datasetSize - 1);
    this.temperature = settings.temperature;
    this.momentum = settings.momentum;
    this.studentBank = this.registerBuffer('studentBank', tf.zeros([datasetSize, settings.dim]));
    this.teacherBank = this.registerBuffer('teacherBank', tf.zeros([datasetSize, settings.dim]));
    this.studentZ = this.registerBuffer('studentZ', tf.scalar(0));
    this.teacherZ = this.registerBuffer('teacherZ', tf.scalar(0));
    this.seed = this.registerBuffer('seed', tf.scalar(0, 'int32'));
  }

  /** Draws both banks (seeded uniform rows, L2-normalised), clears Z and stores the negatives' seed. */
  resetParameters(seed: number): void {
    tf.tidy(() => {
      this.studentBank.assign(tf.tensor2d(randomUnitRows(this.datasetSize, this.dim, mixSeed(seed, 1)), [this.datasetSize, this.dim]));
      this.teacherBank.assign(tf.tensor2d(randomUnitRows(this.datasetSize, this.dim, mixSeed(seed, 2)), [this.datasetSize, this.dim]));
      this.studentZ.assign(tf.scalar(0));
      this.teacherZ.assign(tf.scalar(0));
      this.seed.assign(tf.scalar(seed | 0, 'int32'));
    });
  }

  /** The K negative rows for a batch: uniform with replacement, from the memory's seed and the batch's indices. */
  negativeIndices(indices: Int32Array): Int32Array {
    const seed = this.seed.dataSync()[0] >>> 0;
    const uniform = uniformStream(mixSeed(seed, indices.length, ...indices));
    const out = new Int32Array(this.negatives);
    for (let k = 0; k < out.length; k++) out[k] = Math.min(this.datasetSize - 1, Math.floor(uniform() * this.datasetSize));
    return out;
  }

  /**
   * The level's NCE loss for a batch's student and teacher embeddings ([B, dim], unit rows) and dataset indices;
   * then sets Z on the first batch and moves the banks' rows idx towards the embeddings.
   */
  loss(student: tf.Tensor2D, teacher: tf.Tensor2D, indices: Int32Array): tf.Scalar {
    const [b, dim] = student.shape;
    if (dim !== this.dim || teacher.shape[0] !== b || teacher.shape[1] !== dim) {
      throw new Error(`contrastive memory of width ${this.dim} got embeddings [${student.shape}] and [${teacher.shape}]`);
    }
    if (indices.length !== b) throw new Error(`contrastive memory got ${indices.length} sample indices for a batch of ${b}`);
    for (const i of indices) {
      if (!(i >= 0 && i < this.datasetSize)) throw new Error(`sample index ${i} is outside the memory bank (${this.datasetSize} rows)`);
    }
    const negatives = this.negativeIndices(indices);
    const result = tf.tidy(() => {
      const idx = tf.tensor1d(indices, 'int32');
      const neg = tf.tensor1d(negatives, 'int32');
      const sides = ([['student', student, this.teacherBank, this.studentZ], ['teacher', teacher, this.studentBank, this.teacherZ]] as const)
        .map(([side, anchor, bank, z]) => {
          // Bank rows are constants to the gradient (read untaped; see `untaped`).
          const positives = untaped(() => tf.gather(bank, idx));
          const negativeRows = untaped(() => tf.gather(bank, neg));
          const posLogits = anchor.mul(positives).sum(1).div(this.temperature) as tf.Tensor1D;
          const negLogits = tf.matMul(anchor, negativeRows, false, true).div(this.temperature) as tf.Tensor2D;
          if (z.dataSync()[0] <= 0) this.setZ(side, posLogits, negLogits);
          return nceLoss(posLogits, negLogits, z, this.datasetSize);
        });
      return sides[0].add(sides[1]) as tf.Scalar;
    });
    this.update(this.studentBank, student, indices);
    this.update(this.teacherBank, teacher, indices);
    return result;
  }

  /** Z = mean over the batch's B (K + 1) scores exp(logit) times the dataset size (first batch only). */
  private setZ(side: ContrastSide, posLogits: tf.Tensor1D, negLogits: tf.Tensor2D): void {
    const z = side === 'student' ? this.studentZ : this.teacherZ;
    untaped(() => {
      const total = posLogits.exp().sum().add(negLogits.exp().sum());
      const value = total.div(posLogits.size + negLogits.size).mul(this.datasetSize);
      z.assign(value);
      return value;
    }).dispose();
  }

  /** Rows idx of `bank` become normalize(momentum * row + (1 - momentum) * embedding); other rows are untouched. */
  private update(bank: tf.Variable, embeddings: tf.Tensor2D, indices: Int32Array): void {
    // A repeated index keeps its last occurrence (the trainer's batches never repeat one).
    const last = new Map<number, number>();
    indices.forEach((row, position) => last.set(row, position));
    const rows = Int32Array.from(last.keys());
    const positions = Int32Array.from(last.values());
    untaped(() => {
      const where = tf.tensor2d(rows, [rows.length, 1], 'int32');
      const old = tf.gather(bank, rows);
      const fresh = l2Normalize(old.mul(this.momentum).add(tf.gather(embeddings, positions).mul(1 - this.momentum)) as tf.Tensor2D);
      const shape = [this.datasetSize, this.dim];
      const keep = tf.scalar(1).sub(tf.scatterND(where, tf.ones([rows.length, 1]), [this.datasetSize, 1]));
      const next = bank.mul(keep).add(tf.scatterND(where, fresh, shape));
      bank.assign(next);
      return next;
    }).dispose();
  }

  forward(): tf.Tensor {
    throw new Error('a contrastive memory has no forward pass; use loss()');
  }
}

/**
 * NCE loss of one side from its scores' logits (e . m / T) against the positives [B] and the shared negatives
 * [B, K], the side's Z (a scalar tensor) and the dataset size N: the mean over the batch of
 * -[log(P_pos / (P_pos + K/N)) + sum_j log((K/N) / (P_neg_j + K/N))], with P = exp(logit) / Z.
 */
export function nceLoss(posLogits: tf.Tensor1D, negLogits: tf.Tensor2D, z: tf.Tensor, datasetSize: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, k] = negLogits.shape;
    const logNoise = Math.log(k / datasetSize); // log(K Pn)
    const logZ = z.log();
    const posLogP = posLogits.sub(logZ);
    const negLogP = negLogits.sub(logZ);
    const positive = tf.softplus(posLogP.neg().add(logNoise)).sum();
    const negative = tf.softplus(negLogP.sub(logNoise)).sum();
    return positive.add(negative).div(b) as tf.Scalar;
  });
}

/**
 * One contrastive level: embedding heads on a student tap and a teacher tap (pool, linear to `dim`, L2 norm;
 * trained with the model's optimizer) and the level's memory. Children: embedStudent, embedTeacher, memory.
 */
export class ContrastiveLevel extends Module {
  constructor(studentShape: number[], teacherShape: number[], datasetSize: number, settings: ContrastiveSettings) {
    super();
    this.registerModule('embedStudent', new Embedding(studentShape, settings.dim, true));
    this.registerModule('embedTeacher', new Embedding(teacherShape, settings.dim, true));
    this.registerModule('memory', new ContrastMemory(datasetSize, settings));
  }

  get memory(): ContrastMemory {
    return this.child<ContrastMemory>('memory');
  }

  /** The level's student and teacher embeddings of a batch's features. */
  embed(student: tf.Tensor, teacher: tf.Tensor): [tf.Tensor2D, tf.Tensor2D] {
    return [this.child<Embedding>('embedStudent').forward(student), this.child<Embedding>('embedTeacher').forward(teacher)];
  }

  /** The level's NCE loss (student side + teacher side); updates the memory. */
  loss(student: tf.Tensor, teacher: tf.Tensor, indices: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const [s, t] = this.embed(student, teacher);
      return this.memory.loss(s, t, indices);
    });
  }

  forward(): tf.Tensor {
    throw new Error('a contrastive level has no forward pass; use loss()');
  }
}
