// `sqakd bench <what>`: the project's benchmarks. `engine` times a ResNet-20-sized conv layer training step;
// `step` one SQAKD training step, beside the PyTorch reference when PyTorch is present; `landscape` a loss
// landscape's grid points against the same model's training step.
import { Command } from 'commander';

import { checkBits } from '../../methods/quantizers/quantizer.ts';
import { quantizerFamily } from '../../methods/quantizers/registry.ts';
import { architectureSpec } from '../../models/registry.ts';
import { benchEngine, initBackend } from '../../engine/index.ts';
import { referenceScript, runReference } from '../../runs/pytorchReference.ts';
import { formatDuration } from '../../runs/formatDuration.ts';
import { benchLandscape } from '../../runs/landscape/landscapeBench.ts';
import { SWEEP_DEFAULTS } from '../../runs/landscape/sweepSettings.ts';
import { benchStep } from '../../runs/stepBench.ts';
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

async function stepBenchmark(values: FlagValues): Promise<void> {
  const arch = stringFlag(values.arch) ?? 'resnet20';
  refusedOnError(() => architectureSpec(arch));
  const quantizer = stringFlag(values.quantizer) ?? 'ewgs';
  refusedOnError(() => quantizerFamily(quantizer));
  const options = {
    arch, quantizer, bits: refusedOnError(() => checkBits(positiveInt(values.bits, 'bits', 2))), batch: positiveInt(values.batch, 'batch', 256),
    steps: positiveInt(values.steps, 'steps', 5),
  };
  // commander gives --no-reference as reference: false.
  const noReference = values.reference === false;
  const script = noReference ? undefined : referenceScript(stringFlag(values.reference));
  await initBackend(stringFlag(values.backend));
  const ours = await benchStep(options);
  let reference: ReturnType<typeof runReference> | undefined;
  if (!script) reference = noReference ? undefined : 'reference_step.py not found (pass --reference <path>)';
  else if (!REFERENCE_ARCHS.includes(arch)) reference = `the reference implements ${REFERENCE_ARCHS.join(' and ')} only`;
  else if (quantizer !== 'ewgs') reference = 'the reference implements the EWGS/STE quantizer only';
  else reference = runReference(script, options);
  const result = {
    ...ours,
    reference: typeof reference === 'object' ? reference : null,
    referenceNote: typeof reference === 'string' ? reference : undefined,
    speedupVsReference: typeof reference === 'object' ? Number((ours.imagesPerSecond / reference.imagesPerSecond).toFixed(3)) : null,
  };
  if (!values.json) {
    console.log(`SQAKD step, ${arch} W${options.bits}A${options.bits} (${quantizer}), batch ${options.batch} on ` +
      `${ours.backend}: ${ours.msPerStep} ms/step, ${ours.imagesPerSecond} images/s`);
    if (result.reference) {
      console.log(`PyTorch ${result.reference.torch} reference (${result.reference.threads} threads): ` +
        `${result.reference.msPerStep} ms/step, ${result.reference.imagesPerSecond} images/s -> ${result.speedupVsReference}x`);
    } else if (result.referenceNote) {
      console.log(`no PyTorch figure: ${result.referenceNote}`);
    }
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
    .option('--bits <n>', 'weight and activation bits', '2')
    .option('--batch <n>', 'images per step', '256')
    .option('--steps <n>', 'timed steps', '5')
    .option('--quantizer <name>', 'quantizer family', 'ewgs')
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
