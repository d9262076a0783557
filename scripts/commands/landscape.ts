// `sqakd landscape` (`npm run landscape -- ...`): the 2-D loss landscape of a trained model around its weights, with
// the sharpness numbers at the trained point, written to <out>/landscape.json and landscape.csv.
import cliProgress from 'cli-progress';
import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { LANDSCAPE_LOSSES } from '../../runs/landscape/modelSpace.ts';
import { runLandscape } from '../../runs/landscape/landscapeRun.ts';
import { backendOption, dataDirOption, type FlagValues, listFlag, numberFlag, positiveInt, stringFlag, UsageError } from '../command.ts';

/** `ce=1,kl=1` as weights. */
function parseWeights(text: string | undefined): { ce: number; kl: number } {
  if (text === undefined) return { ce: 1, kl: 1 };
  const weights = { ce: 1, kl: 1 };
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    if ((key !== 'ce' && key !== 'kl') || !(Number(value) >= 0)) throw new UsageError(`--weights takes ce=<w>,kl=<w>, got '${text}'`);
    weights[key] = Number(value);
  }
  return weights;
}

async function runLandscapeCommand(values: FlagValues): Promise<void> {
  const checkpoint = stringFlag(values.checkpoint);
  const out = stringFlag(values.out);
  if (!checkpoint || !out) throw new UsageError('sqakd landscape: give --checkpoint <file> and --out <folder>');
  await initBackend(stringFlag(values.backend));
  const losses = listFlag(values.loss).flatMap((l) => l.split(',')).filter(Boolean);
  const grid = positiveInt(values.grid, 'grid', 21);
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'landscape [{bar}] {value}/{total} points | ETA {eta_formatted}' },
    cliProgress.Presets.shades_classic) : null;
  let lastLine = 0;
  const file = runLandscape({
    checkpoint, out, dataDir: resolveDataDir(stringFlag(values.dataDir)), teacher: values.teacher === false ? null : stringFlag(values.teacher),
    losses: losses.length ? losses : [...LANDSCAPE_LOSSES], grid, range: numberFlag(values.range, 'range') ?? 1,
    subset: positiveInt(values.subset, 'subset', 1024), seed: positiveInt(values.seed, 'seed', 1), radius: numberFlag(values.radius, 'radius') ?? 0.5,
    interpolateFrom: stringFlag(values.interpolateFrom), weights: parseWeights(stringFlag(values.weights)),
    batchSize: positiveInt(values.batchSize, 'batch-size', 256), traceSamples: positiveInt(values.traceSamples, 'trace-samples', 8),
    powerIterations: positiveInt(values.powerIterations, 'power-iterations', 20), force: values.force === true,
    log: (line) => console.error(line),
    onPoint: (done, total) => {
      if (bar) {
        if (done === 1) bar.start(total, 0);
        bar.update(done);
        if (done === total) bar.stop();
      } else if (done === total || Math.floor((10 * done) / total) > lastLine) {
        lastLine = Math.floor((10 * done) / total);
        console.error(`landscape: ${done}/${total} points`);
      }
    },
  });
  for (const [loss, s] of Object.entries(file.sharpness)) {
    console.log(`${loss}: centre ${file.centre[loss].toFixed(4)}, top eigenvalue ${s.topEigenvalue.toPrecision(4)}, trace ` +
      `${s.trace.toPrecision(4)} ± ${s.traceStdError.toPrecision(2)}, circle rise (r=${file.sharpnessMethod.radius}) ${s.circleRise.toPrecision(4)}`);
  }
  console.log(`landscape: ${out}/landscape.json, landscape.csv (${file.grid.a.length * file.grid.b.length} points)`);
}

/** `sqakd landscape`. */
export function landscapeCommand(): Command {
  return new Command('landscape')
    .summary('2-D loss landscape and sharpness of a trained model around its weights')
    .description('Evaluate the losses at theta + a*d1 + b*d2 on an n x n grid, with d1, d2 Gaussian directions normalised ' +
      "filter by filter (Li et al. 2018; biases, batch norm and quantizer parameters get none), the model quantized as " +
      'trained, on a test subset chosen by --seed; then the Hessian\'s top eigenvalue, its trace and the mean loss rise on ' +
      'a circle of radius --radius at the trained point. Writes <out>/landscape.json and landscape.csv.')
    .option('--checkpoint <file>', 'required: the trained model (checkpoint.ckpt of a run or a matrix cell)')
    .option('--teacher <file>', "the teacher for the KL losses (default: the one the model was trained from)")
    .option('--no-teacher', 'no teacher: only ce and acc')
    .option('--out <folder>', 'required: where landscape.json and landscape.csv go')
    .option('--loss <list>', `losses to evaluate, comma-separated (${LANDSCAPE_LOSSES.join(', ')}; default all)`)
    .option('--grid <n>', 'points per axis', '21')
    .option('--range <x>', 'the grid spans [-x, x] along each direction', '1')
    .option('--subset <n>', 'test images evaluated (chosen by --seed)', '1024')
    .option('--seed <n>', 'seeds the subset, the directions and the sharpness probes', '1')
    .option('--radius <r>', 'radius of the circle rise, in the directions\' units', '0.5')
    .option('--weights <ce=w,kl=w>', 'weights of the ce+kl loss', 'ce=1,kl=1')
    .option('--interpolate-from <file>', 'a 1-D slice along (this checkpoint - that one) instead of two random directions')
    .option('--batch-size <n>', 'images per forward pass', '256')
    .option('--trace-samples <n>', "Hutchinson's Rademacher vectors for the trace", '8')
    .option('--power-iterations <n>', 'most Hessian-vector products of the power iteration', '20')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .option('--force', "move another run's files out of --out (into replaced-<time>/) instead of refusing")
    .action(runLandscapeCommand);
}
