// `sqakd bench <what>`: the project's benchmarks. `engine` times a ResNet-20-sized conv layer training step.
import { benchEngine, initBackend } from '../../engine/index.ts';
import { type Command, positiveInt, UsageError } from '../command.ts';

const BENCHMARKS = ['engine'];

export const benchCommand: Command = {
  summary: 'benchmarks: `engine` (conv layer training step vs tfjs cpu and vs direct ATen calls)',
  usage: 'sqakd bench engine [--batch 256] [--cpu-batch 4] [--rounds 15] [--steps 2] [--skip-cpu] [--json] [--backend ...]',
  options: {
    batch: { type: 'string' },
    'cpu-batch': { type: 'string' },
    rounds: { type: 'string' },
    steps: { type: 'string' },
    'skip-cpu': { type: 'boolean' },
    json: { type: 'boolean' },
    backend: { type: 'string' },
  },
  async run(values, positionals) {
    const what = positionals[0];
    if (!BENCHMARKS.includes(what)) {
      throw new UsageError(`sqakd bench: unknown benchmark '${what ?? ''}' (valid: ${BENCHMARKS.join(', ')})`);
    }
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
