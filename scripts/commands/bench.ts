// `sqakd bench <what>`: the project's benchmarks. `engine` times a ResNet-20-sized conv layer training step;
// `step` one SQAKD training step, beside the PyTorch reference when PyTorch is present; `landscape` a loss
// landscape's grid points against the same model's training step.
import { Command } from 'commander';

import { checkBits } from '../../methods/quantizers/quantizer.ts';
import { quantizerFamily } from '../../methods/quantizers/registry.ts';
import { architectureSpec } from '../../models/registry.ts';
import { benchEngine, initBackend, setCompositeOps } from '../../engine/index.ts';
import { type ReferenceResult, referenceScript, runReference } from '../../runs/pytorchReference.ts';
import { formatDuration } from '../../runs/formatDuration.ts';
import { benchLandscape } from '../../runs/landscape/landscapeBench.ts';
import { SWEEP_DEFAULTS } from '../../runs/landscape/sweepSettings.ts';
import { kernelProfileTable } from '../../runs/kernelProfileTable.ts';
import { benchStep, FULL_PRECISION_BITS, profileStep, type StepBenchResult } from '../../runs/stepBench.ts';
import { STEP_PHASES } from '../../runs/trainingStep.ts';
import { compareStepRuns, median } from '../../runs/stepComparison.ts';
import { refusedOnError } from '../../runs/runRefused.ts';
import { backendOption, type FlagValues, positiveInt, stringFlag } from '../command.ts';

const REFERENCE_ARCHS = ['resnet20', 'vgg8'];

async function engineBenchmark(values: FlagValues): Promise<void> {
  const options = {
    batch: positiveInt(values.batch, 'batch', 256),
    cpuBatch: positiveInt(values.cpuBatch, 'cpu-batch', 4),
    rounds: positiveInt(values.rounds, 'rounds', 15),
    stepsPerRound: positiveInt(values.steps, 'steps', 2),
    skipCpu: Boolean(values.skipCpu),
  };
  await initBackend(stringFlag(values.backend));
  const result = await benchEngine(options);
  if (!values.json) {
    console.log(`${result.layer}, batch ${result.batch} on ${result.backend}: ${result.msPerStep} ms/step, ` +
      `${result.imagesPerSecond} images/s`);
    if (result.cpuImagesPerSecond !== null) {
      console.log(`tfjs cpu backend (batch ${result.cpuBatch}): ${result.cpuMsPerStep} ms/step, ` +
        `${result.cpuImagesPerSecond} images/s -> ${result.perImageSpeedupVsCpu}x per image`);
    }
    if (result.overheadVsDirectAten !== null) {
      console.log(`same ATen calls direct from C++: ${result.directAtenMsPerStep} ms/step -> backend/direct ` +
        `${result.overheadVsDirectAten}x (medians of ${result.rounds} alternating rounds)`);
    }
  }
  // The last line is always the JSON result, for scripts.
  console.log(JSON.stringify(result));
}

/** --bits: 1 to 8, or 32 for a full-precision student. */
function stepBits(values: FlagValues): number {
  const bits = positiveInt(values.bits, 'bits', 2);
  return bits === FULL_PRECISION_BITS ? bits : refusedOnError(() => {
    try {
      return checkBits(bits);
    } catch (e) {
      throw new Error(`${(e as Error).message}, or ${FULL_PRECISION_BITS} for a full-precision student`);
    }
  });
}

async function stepBenchmark(values: FlagValues): Promise<void> {
  const arch = stringFlag(values.arch) ?? 'resnet20';
  refusedOnError(() => architectureSpec(arch));
  const quantizer = stringFlag(values.quantizer) ?? 'ewgs';
  refusedOnError(() => quantizerFamily(quantizer));
  const options = {
    arch, quantizer, bits: stepBits(values), batch: positiveInt(values.batch, 'batch', 256),
    steps: positiveInt(values.steps, 'steps', 5), channelsLast: values.channelsLast === true,
  };
  const repeat = positiveInt(values.repeat, 'repeat', 1);
  // commander gives --no-reference as reference: false.
  const noReference = values.reference === false;
  const script = noReference ? undefined : referenceScript(stringFlag(values.reference));
  await initBackend(stringFlag(values.backend));
  const composite = values.composite === true;
  setCompositeOps(composite);
  let why: string | undefined;
  if (!script) why = noReference ? undefined : 'reference_step.py not found (pass --reference <path>)';
  else if (!REFERENCE_ARCHS.includes(arch)) why = `the reference implements ${REFERENCE_ARCHS.join(' and ')} only`;
  else if (quantizer !== 'ewgs') why = 'the reference implements the EWGS/STE quantizer only';
  // Ours and the reference alternate, so that a noisy neighbour weighs on both sides alike.
  const runs: { ours: StepBenchResult; reference?: ReturnType<typeof runReference> }[] = [];
  for (let i = 0; i < repeat; i++) {
    const ours = await benchStep(options);
    runs.push({ ours, reference: script && !why ? runReference(script, options) : why });
    if (repeat > 1 && !values.json) {
      const r = runs[i].reference;
      console.error(`run ${i + 1}/${repeat}: ours ${ours.imagesPerSecond} images/s` +
        `${typeof r === 'object' ? `, reference ${r.imagesPerSecond} images/s` : ''}`);
    }
  }
  // Profiled after the timed runs: the per-kernel timers would slow the timed steps.
  const profile = values.profile ? profileStep(options) : undefined;
  const failed = runs.map((r) => r.reference).find((r) => typeof r === 'string');
  const references = runs.map((r) => r.reference).filter((r): r is ReferenceResult => typeof r === 'object');
  const comparison = references.length === repeat
    ? compareStepRuns(runs.map((r) => r.ours.imagesPerSecond), references.map((r) => r.imagesPerSecond)) : undefined;
  // The median step (of one run: that run's).
  const ms = median(runs.map((r) => r.ours.msPerStep));
  const ours = { ...runs[0].ours, msPerStep: ms, imagesPerSecond: Number((options.batch / (ms / 1000)).toFixed(1)) };
  const reference = references.length ? { ...references[0], ...(comparison ? {
    imagesPerSecond: comparison.referenceMedian, msPerStep: Number(median(references.map((r) => r.msPerStep)).toFixed(1)),
  } : {}) } : null;
  const result = {
    ...ours, channelsLast: options.channelsLast, composite,
    reference,
    referenceNote: typeof failed === 'string' ? failed : undefined,
    speedupVsReference: comparison ? comparison.medianRatio : null,
    // With --repeat, the figures above are medians, and every run's are here.
    ...(repeat > 1 ? { repeat, runs: comparison ?? { ours: runs.map((r) => r.ours.imagesPerSecond) } } : {}),
    ...(profile ? { profile } : {}),
  };
  if (!values.json) {
    const bits = options.bits === FULL_PRECISION_BITS ? 'full precision' : `W${options.bits}A${options.bits} (${quantizer})`;
    const of = repeat > 1 ? ` (medians of ${repeat} alternating runs)` : '';
    console.log(`SQAKD step, ${arch} ${bits}, batch ${options.batch} on ${ours.backend}${composite ? ' (composite ops)' : ''}: ` +
      `${ours.msPerStep} ms/step, ` +
      `${ours.imagesPerSecond} images/s${of}`);
    if (result.reference) {
      console.log(`PyTorch ${result.reference.torch} reference (${result.reference.threads} threads` +
        `${options.channelsLast ? ', channels-last' : ''}): ${result.reference.msPerStep} ms/step, ` +
        `${result.reference.imagesPerSecond} images/s -> ${result.speedupVsReference}x${repeat > 1 ? ' (median ratio)' : ''}`);
    } else if (result.referenceNote) {
      console.log(`no PyTorch figure: ${result.referenceNote}`);
    }
    console.log(`peak resident memory: ours ${ours.peakRssMiB} MiB` + (result.reference
      ? `, reference ${result.reference.peakRssMiB} MiB -> ${(ours.peakRssMiB / result.reference.peakRssMiB).toFixed(2)}x` : ''));
    if (profile) for (const line of kernelProfileTable(profile, STEP_PHASES)) console.log(line);
  }
  console.log(JSON.stringify(result));
}

async function landscapeBenchmark(values: FlagValues): Promise<void> {
  await initBackend(stringFlag(values.backend));
  const arch = stringFlag(values.arch) ?? 'resnet20';
  refusedOnError(() => architectureSpec(arch));
  const result = await benchLandscape({
    arch, bits: positiveInt(values.bits, 'bits', 2), quantizer: stringFlag(values.quantizer) ?? 'ewgs',
    subset: positiveInt(values.subset, 'subset', 1024), batch: positiveInt(values.batch, 'batch', 256),
    points: positiveInt(values.points, 'points', 5),
  });
  if (!values.json) {
    console.log(`${result.arch} W${result.bits}A${result.bits} landscape grid, ${result.subset} images per point on ${result.backend}: ` +
      `${result.msPerPoint} ms/point, ${result.imagesPerSecond} img/s; its training step ${result.trainingStepImagesPerSecond} img/s ` +
      `-> ${result.speedupVsTrainingStep}x; a gradient ${result.msPerGradient} ms; a default ${SWEEP_DEFAULTS.grid}x${SWEEP_DEFAULTS.grid} ` +
      `sweep with sharpness ~${formatDuration(result.defaultSweepSeconds.central)} (--hvp forward ` +
      `~${formatDuration(result.defaultSweepSeconds.forward)})`);
  }
  console.log(JSON.stringify(result));
}

/** `sqakd bench engine|step|landscape`. */
export function benchCommand(): Command {
  const engine = new Command('engine')
    .description('a ResNet-20-sized conv layer training step: this backend vs tfjs cpu and the same ATen calls from C++')
    .option('--batch <n>', 'images per step', '256')
    .option('--cpu-batch <n>', "images per step on tfjs's cpu backend (it is slow)", '4')
    .option('--rounds <n>', 'alternating timing rounds; medians are reported', '15')
    .option('--steps <n>', 'steps per round', '2')
    .option('--skip-cpu', "leave out tfjs's cpu backend")
    .option('--json', 'print only the JSON line')
    .addOption(backendOption())
    .action(engineBenchmark);
  const step = new Command('step')
    .description('one SQAKD training step (student forward/backward, teacher forward, KL, both optimizers) beside the PyTorch reference')
    .option('--arch <name>', `architecture (the reference has ${REFERENCE_ARCHS.join(' and ')})`, 'resnet20')
    .option('--bits <n>', `weight and activation bits (1-8), or ${FULL_PRECISION_BITS} for a full-precision student (a teacher's step)`, '2')
    .option('--batch <n>', 'images per step', '256')
    .option('--steps <n>', 'timed steps', '5')
    .option('--repeat <n>', 'alternate ours and the reference n times; report the medians and the median ratio', '1')
    .option('--channels-last', 'run the reference with channels-last (NHWC) memory')
    .option('--quantizer <name>', 'quantizer family', 'ewgs')
    .option('--composite', 'run every fused op as its composite twin of plain tfjs ops (what the fused kernels buy)')
    .option('--profile', 'also time every kernel (per phase: teacher, forward, backward, check, optimizer) over --steps steps')
    .option('--reference <script>', 'the PyTorch reference step (default: ../shared/bench/reference_step.py when present)')
    .option('--no-reference', 'do not run the PyTorch reference')
    .option('--json', 'print only the JSON line')
    .addOption(backendOption())
    .action(stepBenchmark);
  const landscape = new Command('landscape')
    .description("a loss landscape's grid points (every loss, inference mode) against the same model's training step")
    .option('--arch <name>', 'architecture', 'resnet20')
    .option('--bits <n>', 'weight and activation bits', '2')
    .option('--quantizer <name>', 'quantizer family', 'ewgs')
    .option('--subset <n>', 'images per grid point', '1024')
    .option('--batch <n>', 'images per forward pass (and per training step)', '256')
    .option('--points <n>', 'timed grid points', '5')
    .option('--json', 'print only the JSON line')
    .addOption(backendOption())
    .action(landscapeBenchmark);
  return new Command('bench').description("the project's benchmarks: engine, step and landscape").addCommand(engine).addCommand(step)
    .addCommand(landscape);
}
