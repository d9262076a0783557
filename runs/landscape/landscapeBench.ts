// `sqakd bench landscape`: how fast a landscape's grid is evaluated, against the training step of the same model.
// A grid point is a forward pass over the evaluation subset at displaced weights (weights written, inference mode,
// no gradient tape), so it should run well above the training step's images/s; the ratio is the figure of merit.
// A gradient over the subset is timed too: sharpness is made of them, and with the grid it gives a default sweep's time.
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';

import { calibrateQuantizers, quantizeModel } from '../../models/quantize.ts';
import { createModel } from '../../models/registry.ts';
import { benchStep } from '../stepBench.ts';
import type { EvaluationSubset } from './evaluationSubset.ts';
import { randomDirection } from './filterDirections.ts';
import { displaced } from './landscapeGrid.ts';
import { CIRCLE_POINTS } from './landscapeRun.ts';
import { modelSpace } from './modelSpace.ts';
import { SWEEP_DEFAULTS } from './sweepSettings.ts';

export interface LandscapeBenchOptions {
  arch: string;
  bits: number;
  quantizer: string;
  /** Images per grid point. */
  subset: number;
  batch: number;
  /** Grid points timed (after one warm-up point). */
  points: number;
}

export interface LandscapeBenchResult {
  benchmark: 'landscape-grid';
  backend: string;
  arch: string;
  bits: number;
  subset: number;
  batch: number;
  msPerPoint: number;
  /** Images evaluated per second on the grid (every loss of the point included). */
  imagesPerSecond: number;
  trainingStepImagesPerSecond: number;
  /** imagesPerSecond over the training step's. */
  speedupVsTrainingStep: number;
  /** One gradient of ce+kl over the subset: the unit of the sharpness measures. */
  msPerGradient: number;
  /** A default sweep (SWEEP_DEFAULTS: grid, every loss, sharpness) at these speeds, by Hessian-vector scheme. */
  defaultSweepSeconds: { central: number; forward: number };
}

/** The seconds of a default sweep: its grid, the circle and centre, and every differentiable loss's products. */
function defaultSweepSeconds(msPerPoint: number, msPerGradient: number) {
  const d = SWEEP_DEFAULTS;
  const losses = d.losses.filter((l) => l !== 'acc').length;
  const evaluations = d.grid * d.grid + CIRCLE_POINTS + 1;
  const products = losses * (d.powerIterations + d.traceSamples);
  const seconds = (gradients: number) => Math.round((evaluations * msPerPoint + gradients * msPerGradient) / 1000);
  // Forward differences: one gradient per product and one at the trained point per loss.
  return { central: seconds(2 * products), forward: seconds(products + losses) };
}

/** Times grid points of a randomly initialised W`bits` student on random CIFAR-sized images, then its training step. */
export async function benchLandscape(o: LandscapeBenchOptions): Promise<LandscapeBenchResult> {
  const input = { classes: 10, inChannels: 3 };
  const teacher = createModel(o.arch, { ...input, seed: 2 }).eval();
  const student = createModel(o.arch, { ...input, seed: 1 });
  quantizeModel(student, { quantizer: o.quantizer, wBits: o.bits, aBits: o.bits });
  const batches = Array.from({ length: Math.ceil(o.subset / o.batch) }, (_, i) => {
    const n = Math.min(o.batch, o.subset - i * o.batch);
    const x = tf.randomNormal([n, 32, 32, 3], 0, 1, 'float32', 10 + i) as tf.Tensor4D;
    return { x, labels: tf.tensor1d(Array.from({ length: n }, (_, j) => j % 10), 'int32'), teacherLogits: tf.tidy(() => teacher.forward(x)) };
  });
  calibrateQuantizers(student, batches[0].x);
  const subset: EvaluationSubset = { batches, count: o.subset, indices: [] };
  const space = modelSpace(student, subset, { temperature: 4, weights: { ce: 1, kl: 1 } });
  const theta = space.get();
  const d1 = randomDirection(space, theta, 1);
  let step = 0;
  const bench = new Bench({ time: 0, iterations: o.points, warmup: true, warmupIterations: 1, throws: true });
  bench.add('point', () => {
    space.set(displaced(theta, d1, null, 0.01 * ++step, 0));
    space.evaluate();
  });
  bench.add('gradient', () => {
    space.gradient('ce+kl');
  }, { beforeAll: () => space.set(theta) });
  await bench.run();
  const result = bench.getTask('point')?.result;
  const gradient = bench.getTask('gradient')?.result;
  if (!result || result.state !== 'completed' || !gradient || gradient.state !== 'completed') {
    throw new Error('the landscape benchmark did not complete');
  }
  for (const b of batches) tf.dispose([b.x, b.labels, b.teacherLogits]);
  student.dispose();
  teacher.dispose();
  const training = await benchStep({ arch: o.arch, bits: o.bits, batch: o.batch, steps: 3, quantizer: o.quantizer });
  const imagesPerSecond = o.subset / (result.latency.mean / 1000);
  return {
    benchmark: 'landscape-grid', backend: tf.getBackend(), arch: o.arch, bits: o.bits, subset: o.subset, batch: o.batch,
    msPerPoint: Number(result.latency.mean.toFixed(1)), imagesPerSecond: Number(imagesPerSecond.toFixed(1)),
    trainingStepImagesPerSecond: training.imagesPerSecond,
    speedupVsTrainingStep: Number((imagesPerSecond / training.imagesPerSecond).toFixed(2)),
    msPerGradient: Number(gradient.latency.mean.toFixed(1)),
    defaultSweepSeconds: defaultSweepSeconds(result.latency.mean, gradient.latency.mean),
  };
}
