// The engine benchmark: one ResNet-20-sized conv layer training step (32x32x16 -> 16 channels, 3x3, forward plus
// both backward convolutions) through tfjs on the active backend, against (a) the same step on tfjs's pure-JS cpu
// backend, per image, and (b) the same ATen calls made directly from C++. Timed with tinybench in many short
// rounds that alternate the backend and the direct calls step by step (in both orders), and the medians are
// compared: on a shared, noisy machine two long blocks measured one after the other differ by more than the
// binding's cost.
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';

import { directConvStepMs, onLibtorch } from '../libtorch/directAten.ts';

export interface EngineBenchOptions {
  batch: number;
  /** The cpu backend is measured at a smaller batch and compared per image. */
  cpuBatch: number;
  /** Alternating rounds; each times `stepsPerRound` steps of each side. */
  rounds: number;
  stepsPerRound: number;
  /** Skip the cpu backend (minutes of pure-JS convolution). */
  skipCpu: boolean;
}

export interface EngineBenchResult {
  benchmark: 'conv-step';
  backend: string;
  layer: string;
  batch: number;
  msPerStep: number;
  imagesPerSecond: number;
  cpuBatch: number | null;
  cpuMsPerStep: number | null;
  cpuImagesPerSecond: number | null;
  perImageSpeedupVsCpu: number | null;
  directAtenMsPerStep: number | null;
  overheadVsDirectAten: number | null;
  rounds: number;
}

const HEIGHT = 32;
const WIDTH = 32;
const CHANNELS = 16;

interface StepTensors {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  dy: tf.Tensor4D;
}

function stepTensors(batch: number): StepTensors {
  return {
    x: tf.randomNormal([batch, HEIGHT, WIDTH, CHANNELS], 0, 1, 'float32', 1),
    filter: tf.randomNormal([3, 3, CHANNELS, CHANNELS], 0, 0.1, 'float32', 2),
    dy: tf.randomNormal([batch, HEIGHT, WIDTH, CHANNELS], 0, 1, 'float32', 3),
  };
}

/** One training step of the layer through tfjs: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter. */
function tfjsStep({ x, filter, dy }: StepTensors): void {
  const grads = tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'))([x, filter], dy);
  // Reading one value waits for asynchronous devices, so the time covers the work.
  grads[1].dataSync();
  tf.dispose(grads);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times each task for `iterations` steps with tinybench, in the given order; returns mean ms per step. */
async function timeSteps(tasks: Array<[string, () => void]>, iterations: number): Promise<Map<string, number>> {
  const bench = new Bench({ time: 0, iterations, warmup: false, throws: true });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return new Map(tasks.map(([name]) => {
    const result = bench.getTask(name)?.result;
    if (!result || result.state !== 'completed') throw new Error(`benchmark task '${name}' did not complete`);
    return [name, result.latency.mean];
  }));
}

/** Runs the benchmark on the active backend (switching to cpu and back for the cpu figure). */
export async function benchEngine(options: EngineBenchOptions): Promise<EngineBenchResult> {
  const backend = tf.getBackend();
  const tensors = stepTensors(options.batch);
  const direct = onLibtorch();
  const tasks: Array<[string, () => void]> = [['tfjs', () => tfjsStep(tensors)]];
  if (direct) tasks.push(['direct', () => { directConvStepMs(tensors.x, tensors.filter, tensors.dy, 1); }]);
  await timeSteps(tasks, 2);  // warm-up: first calls pay for allocator growth and oneDNN's set-up
  const backendMs: number[] = [];
  const directMs: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const times = await timeSteps(round % 2 ? [...tasks].reverse() : tasks, options.stepsPerRound);
    backendMs.push(times.get('tfjs')!);
    if (direct) directMs.push(times.get('direct')!);
  }
  tf.dispose([tensors.x, tensors.filter, tensors.dy]);
  const msPerStep = median(backendMs);
  const imagesPerSecond = options.batch / (msPerStep / 1000);

  let cpuMsPerStep: number | null = null;
  if (!options.skipCpu && backend !== 'cpu') {
    await tf.setBackend('cpu');
    const cpuTensors = stepTensors(options.cpuBatch);
    cpuMsPerStep = (await timeSteps([['tfjs', () => tfjsStep(cpuTensors)]], 2)).get('tfjs')!;
    tf.dispose([cpuTensors.x, cpuTensors.filter, cpuTensors.dy]);
    await tf.setBackend(backend);
  }
  const cpuImagesPerSecond = cpuMsPerStep === null ? null : options.cpuBatch / (cpuMsPerStep / 1000);
  return {
    benchmark: 'conv-step',
    backend,
    layer: `conv3x3 ${HEIGHT}x${WIDTH}x${CHANNELS}->${CHANNELS}, stride 1, same; forward + input grad + filter grad`,
    batch: options.batch,
    msPerStep: round(msPerStep),
    imagesPerSecond: round(imagesPerSecond),
    cpuBatch: cpuMsPerStep === null ? null : options.cpuBatch,
    cpuMsPerStep: cpuMsPerStep === null ? null : round(cpuMsPerStep),
    cpuImagesPerSecond: cpuImagesPerSecond === null ? null : round(cpuImagesPerSecond),
    perImageSpeedupVsCpu: cpuImagesPerSecond === null ? null : round(imagesPerSecond / cpuImagesPerSecond),
    directAtenMsPerStep: direct ? round(median(directMs)) : null,
    overheadVsDirectAten: direct ? round(msPerStep / median(directMs), 3) : null,
    rounds: options.rounds,
  };
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}
