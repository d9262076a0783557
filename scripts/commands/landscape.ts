// `sqakd landscape` (`npm run landscape -- ...`): the 2-D loss landscape of a trained model around its weights, with
// the sharpness numbers at the trained point, written to <out>/landscape.json and landscape.csv. With --workers N
// the grid's chunks are shared by N worker processes (each this command with --worker-chunk k/N), then assembled.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { execa } from 'execa';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { HVP_SCHEMES, type HvpScheme } from '../../runs/landscape/hessianVector.ts';
import { claimLandscapeFolder, runLandscape } from '../../runs/landscape/landscapeRun.ts';
import { LANDSCAPE_LOSSES, SWEEP_DEFAULTS as D } from '../../runs/landscape/sweepSettings.ts';
import {
  backendOption, choiceOption, dataDirOption, type FlagValues, listFlag, numberFlag, positiveInt, stringFlag, threadsOption, UsageError,
} from '../command.ts';

/** `ce=1,kl=1` as weights. */
function parseWeights(text: string | undefined): { ce: number; kl: number } {
  const weights = { ...D.weights };
  if (text === undefined) return weights;
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    if ((key !== 'ce' && key !== 'kl') || !(Number(value) >= 0)) throw new UsageError(`--weights takes ce=<w>,kl=<w>, got '${text}'`);
    weights[key] = Number(value);
  }
  return weights;
}

const CLI = fileURLToPath(new URL('../../bin/sqakd.js', import.meta.url));

/** `k/N` of --worker-chunk. */
function parseWorkerShare(text: string | undefined): { index: number; of: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError(`--worker-chunk takes k/N with 0 <= k < N, got '${text}'`);
  return { index: Number(m[1]), of: Number(m[2]) };
}

/** Runs N workers on the sweep's chunks (the same command, each with its share and --threads); fails with a worker's error. */
async function runWorkers(workers: number, threads: number): Promise<void> {
  const own = process.argv.slice(process.argv.indexOf('landscape') + 1);
  const args = own.filter((a, i) => a !== '--workers' && own[i - 1] !== '--workers' && !a.startsWith('--workers='));
  const runs = Array.from({ length: workers }, (_, k) => execa(process.execPath, [CLI, 'landscape', ...args, '--worker-chunk', `${k}/${workers}`],
    { env: { SQAKD_THREADS: String(threads) }, reject: false, all: true }));
  const results = await Promise.all(runs);
  results.forEach((r, k) => {
    if (r.exitCode !== 0) throw new Error(`landscape worker ${k}/${workers} failed: ${(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  });
  console.error(`landscape: ${workers} workers evaluated the grid (${threads} thread(s) each)`);
}

async function runLandscapeCommand(values: FlagValues): Promise<void> {
  const checkpoint = stringFlag(values.checkpoint);
  const out = stringFlag(values.out);
  if (!checkpoint || !out) throw new UsageError('sqakd landscape: give --checkpoint <file> and --out <folder>');
  const workers = positiveInt(values.workers, 'workers', 1);
  const worker = parseWorkerShare(stringFlag(values.workerChunk));
  // Workers and a one-process run give the same bytes when they use the same thread count (floating-point sums).
  const threads = positiveInt(values.threads, 'threads', worker || workers === 1 ? availableParallelism() : Math.max(1, Math.floor(availableParallelism() / workers)));
  process.env.SQAKD_THREADS = String(threads);
  // --force clears the folder once, before any worker writes a chunk into it.
  const force = values.force === true && workers === 1;
  if (workers > 1 && !worker) {
    claimLandscapeFolder(out, values.force === true);
    await runWorkers(workers, threads);
  }
  await initBackend(stringFlag(values.backend));
  const losses = listFlag(values.loss).flatMap((l) => l.split(',')).filter(Boolean);
  const grid = positiveInt(values.grid, 'grid', D.grid);
  const bar = process.stderr.isTTY && !worker ? new cliProgress.SingleBar({ format: 'landscape [{bar}] {value}/{total} points | ETA {eta_formatted}' },
    cliProgress.Presets.shades_classic) : null;
  let lastLine = 0;
  const file = runLandscape({
    checkpoint, out, dataDir: resolveDataDir(stringFlag(values.dataDir)), teacher: values.teacher === false ? null : stringFlag(values.teacher),
    losses: losses.length ? losses : [...LANDSCAPE_LOSSES], grid, range: numberFlag(values.range, 'range') ?? D.range,
    subset: positiveInt(values.subset, 'subset', D.subset), seed: positiveInt(values.seed, 'seed', D.seed),
    radius: numberFlag(values.radius, 'radius') ?? D.radius,
    interpolateFrom: stringFlag(values.interpolateFrom), weights: parseWeights(stringFlag(values.weights)),
    batchSize: positiveInt(values.batchSize, 'batch-size', D.batchSize),
    traceSamples: positiveInt(values.traceSamples, 'trace-samples', D.traceSamples),
    powerIterations: positiveInt(values.powerIterations, 'power-iterations', D.powerIterations),
    hvp: stringFlag(values.hvp) as HvpScheme | undefined, force,
    chunkSize: values.chunkSize === undefined ? undefined : positiveInt(values.chunkSize, 'chunk-size', 1), worker,
    log: (line) => console.error(line),
    onPoint: (done, total) => {
      if (bar) {
        if (done === 1) bar.start(total, 0);
        bar.update(done);
        if (done === total) bar.stop();
      } else if (!worker && (done === total || Math.floor((10 * done) / total) > lastLine)) {
        lastLine = Math.floor((10 * done) / total);
        console.error(`landscape: ${done}/${total} points`);
      }
    },
  });
  if (!file) return;
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
    .option('--grid <n>', 'points per axis', String(D.grid))
    .option('--range <x>', 'the grid spans [-x, x] along each direction', String(D.range))
    .option('--subset <n>', 'test images evaluated (chosen by --seed)', String(D.subset))
    .option('--seed <n>', 'seeds the subset, the directions and the sharpness probes', String(D.seed))
    .option('--radius <r>', 'radius of the circle rise, in the directions\' units', String(D.radius))
    .option('--weights <ce=w,kl=w>', 'weights of the ce+kl loss', `ce=${D.weights.ce},kl=${D.weights.kl}`)
    .option('--interpolate-from <file>', 'a 1-D slice along (this checkpoint - that one) instead of two random directions')
    .option('--batch-size <n>', 'images per forward pass', String(D.batchSize))
    .option('--trace-samples <n>', "Hutchinson's Rademacher vectors for the trace", String(D.traceSamples))
    .option('--power-iterations <n>', 'most Hessian-vector products of the power iteration', String(D.powerIterations))
    .addOption(choiceOption('--hvp <scheme>', 'Hessian-vector products: central differences of gradients (two gradients each, error O(eps^2)) ' +
      'or forward ones (one each, about twice as fast, error O(eps))', HVP_SCHEMES).default(D.hvp))
    .option('--chunk-size <n>', 'grid points per saved chunk: a killed sweep resumes from its last chunk (default: one grid row)')
    .option('--workers <n>', 'worker processes sharing the grid\'s chunks (the result equals one process with the same --threads)', '1')
    .addOption(threadsOption('threads of each process (default: every core; with --workers, the cores divided by the workers)'))
    .addOption(new Option('--worker-chunk <k/N>', 'internal: evaluate share k of N of the chunks, then stop').hideHelp())
    .addOption(dataDirOption())
    .addOption(backendOption())
    .option('--force', "move another run's files out of --out (into replaced-<time>/) instead of refusing")
    .action(runLandscapeCommand);
}
