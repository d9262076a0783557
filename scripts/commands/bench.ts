// `sqakd bench <what>`: the project's benchmarks. `engine` times a ResNet-20-sized conv layer training step;
// `step` one SQAKD training step, beside the PyTorch reference when PyTorch is present.
import { checkBits } from '../../methods/quantizers/quantizer.ts';
import { quantizerFamily } from '../../methods/quantizers/registry.ts';
import { ARCHITECTURES, architectureNames } from '../../models/registry.ts';
import { benchEngine, initBackend } from '../../engine/index.ts';
import { referenceScript, runReference } from '../../runs/pytorchReference.ts';
import { benchStep } from '../../runs/stepBench.ts';
import { type Command, type FlagValues, positiveInt, stringFlag, UsageError } from '../command.ts';

const BENCHMARKS = ['engine', 'step'];
const REFERENCE_ARCHS = ['resnet20', 'vgg8'];

export const benchCommand: Command = {
  summary: 'benchmarks: `engine` (conv layer training step vs tfjs cpu and direct ATen), `step` (one SQAKD step vs PyTorch)',
  usage: 'sqakd bench engine [--batch 256] [--cpu-batch 4] [--rounds 15] [--steps 2] [--skip-cpu] [--json] [--backend ...]\n' +
    '  sqakd bench step [--arch resnet20] [--bits 2] [--batch 256] [--steps 5] [--quantizer ewgs] [--reference <script>] ' +
    '[--no-reference] [--json] [--backend ...]',
  options: {
    batch: { type: 'string' },
    'cpu-batch': { type: 'string' },
    rounds: { type: 'string' },
    steps: { type: 'string' },
    'skip-cpu': { type: 'boolean' },
    arch: { type: 'string' },
    bits: { type: 'string' },
    quantizer: { type: 'string' },
    reference: { type: 'string' },
    'no-reference': { type: 'boolean' },
    json: { type: 'boolean' },
    backend: { type: 'string' },
  },
  async run(values, positionals) {
    const what = positionals[0];
    if (!BENCHMARKS.includes(what)) {
      throw new UsageError(`sqakd bench: unknown benchmark '${what ?? ''}' (valid: ${BENCHMARKS.join(', ')})`);
    }
    if (what === 'step') return stepBenchmark(values);
    const options = {
      batch: positiveInt(values.batch, 'batch', 256),
      cpuBatch: positiveInt(values['cpu-batch'], 'cpu-batch', 4),
      rounds: positiveInt(values.rounds, 'rounds', 15),
      stepsPerRound: positiveInt(values.steps, 'steps', 2),
      skipCpu: Boolean(values['skip-cpu']),
    };
    await initBackend(values.backend as string | undefined);
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
  },
};

async function stepBenchmark(values: FlagValues): Promise<void> {
  const arch = stringFlag(values.arch) ?? 'resnet20';
  if (!ARCHITECTURES[arch]) throw new UsageError(`unknown architecture '${arch}' (valid: ${architectureNames().join(', ')})`);
  const quantizer = stringFlag(values.quantizer) ?? 'ewgs';
  quantizerFamily(quantizer);
  const options = {
    arch, quantizer, bits: checkBits(positiveInt(values.bits, 'bits', 2)), batch: positiveInt(values.batch, 'batch', 256),
    steps: positiveInt(values.steps, 'steps', 5),
  };
  const script = values['no-reference'] ? undefined : referenceScript(stringFlag(values.reference));
  await initBackend(stringFlag(values.backend));
  const ours = await benchStep(options);
  let reference: ReturnType<typeof runReference> | undefined;
  if (!script) reference = values['no-reference'] ? undefined : 'reference_step.py not found (pass --reference <path>)';
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
