// The step benchmark of DESIGN's contract: one SQAKD training step of a quantized student distilling from a frozen
// full-precision teacher of the same architecture (student forward/backward, teacher forward, KL, both Adam
// optimizers with the CIFAR recipe's settings), on a fixed random batch (CIFAR-sized unless told otherwise), timed with tinybench. The
// same work as ../shared/bench/reference_step.py, which it can run side by side.
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';

import { type KernelProfile, profileKernels } from '../engine/index.ts';
import { DEFAULT_METHOD_SETTINGS, type LossInputs } from '../methods/method.ts';
import { sqakd } from '../methods/sqakd.ts';
import { calibrateQuantizers, quantizeModel } from '../models/quantize.ts';
import { createModel } from '../models/registry.ts';
import { Adam } from './optim/adam.ts';
import { STEP_PHASES, trainingStep } from './trainingStep.ts';

export interface StepBenchOptions {
  arch: string;
  /** Weight and activation bits, or FULL_PRECISION_BITS. */
  bits: number;
  batch: number;
  steps: number;
  quantizer: string;
  /** The images' shape and classes (default: CIFAR-10's 32x32x3, 10 classes). */
  input?: { height: number; width: number; channels: number; classes: number };
}

const CIFAR_INPUT = { height: 32, width: 32, channels: 3, classes: 10 };

/** `--bits 32`: a full-precision student (no fake quantization), as the reference's; a teacher's training step. */
export const FULL_PRECISION_BITS = 32;

export interface StepBenchResult {
  benchmark: 'sqakd-step';
  backend: string;
  arch: string;
  quantizer: string;
  bits: number;
  batch: number;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** This process's peak resident memory when the run ended. */
  peakRssMiB: number;
}

/** One SQAKD step's models, batch and optimizers, ready to step; dispose() frees them. */
function stepFixture(options: StepBenchOptions): { step: () => void; dispose: () => void } {
  const shape = options.input ?? CIFAR_INPUT;
  const input = { classes: shape.classes, inChannels: shape.channels };
  const teacher = createModel(options.arch, { ...input, seed: 2 }).eval();
  const student = createModel(options.arch, { ...input, seed: 1 });
  const quantized = options.bits !== FULL_PRECISION_BITS;
  if (quantized) quantizeModel(student, { quantizer: options.quantizer, wBits: options.bits, aBits: options.bits });
  student.train();
  const x = tf.randomNormal([options.batch, shape.height, shape.width, shape.channels], 0, 1, 'float32', 3) as tf.Tensor4D;
  if (quantized) calibrateQuantizers(student, x);
  const params = student.namedParameters();
  const optimizers = [
    new Adam(params.filter((p) => p.group === 'model'), { lr: 1e-3, weightDecay: 1e-4 }),
    new Adam(params.filter((p) => p.group === 'quantizer'), { lr: 1e-5 }),
  ];
  const loss = (inputs: LossInputs) => sqakd.loss!(inputs, DEFAULT_METHOD_SETTINGS);
  return {
    step: () => { trainingStep(student, teacher, { x }, loss, optimizers); },
    dispose: () => {
      tf.dispose(x);
      student.dispose();
      teacher.dispose();
      for (const o of optimizers) o.dispose();
    },
  };
}

/** This process's peak resident memory so far, in MiB (Linux reports it in KiB). */
export function peakRssMiB(): number {
  return Number((process.resourceUsage().maxRSS / 1024).toFixed(1));
}

/** Times `steps` SQAKD training steps after two warm-up steps. */
export async function benchStep(options: StepBenchOptions): Promise<StepBenchResult> {
  const fixture = stepFixture(options);
  let msPerStep: number;
  try {
    const bench = new Bench({ time: 0, iterations: options.steps, warmup: true, warmupIterations: 2, throws: true });
    bench.add('step', fixture.step);
    await bench.run();
    const result = bench.getTask('step')?.result;
    if (!result || result.state !== 'completed') throw new Error('the step benchmark did not complete');
    msPerStep = result.latency.mean;
  } finally {
    fixture.dispose();
  }
  return {
    benchmark: 'sqakd-step', backend: tf.getBackend(), arch: options.arch, quantizer: options.quantizer,
    bits: options.bits, batch: options.batch, steps: options.steps, msPerStep: Number(msPerStep.toFixed(1)),
    imagesPerSecond: Number((options.batch / (msPerStep / 1000)).toFixed(1)), peakRssMiB: peakRssMiB(),
  };
}

/** The per-kernel profile of `steps` SQAKD steps (after two warm-up steps), as milliseconds and bytes per step. */
export function profileStep(options: StepBenchOptions): KernelProfile {
  const fixture = stepFixture(options);
  try {
    fixture.step();
    fixture.step();
    const profile = profileKernels(() => { for (let i = 0; i < options.steps; i++) fixture.step(); }, STEP_PHASES);
    return perStep(profile, options.steps);
  } finally {
    fixture.dispose();
  }
}

function perStep(profile: KernelProfile, steps: number): KernelProfile {
  return {
    wallMs: profile.wallMs / steps, kernelMs: profile.kernelMs / steps, outsideShare: profile.outsideShare,
    rows: profile.rows.map((row) => ({
      kernel: row.kernel, ms: row.ms / steps, calls: row.calls / steps, bytes: row.bytes / steps,
      msByPhase: Object.fromEntries(Object.entries(row.msByPhase).map(([phase, ms]) => [phase, ms / steps])),
    })),
  };
}
