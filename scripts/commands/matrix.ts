// `sqakd matrix` (`npm run matrix`): plans a matrix from a preset or a spec file, trains its teachers and cells in
// worker processes (locally, or through a Redis queue), skips what is finished, resumes what was interrupted, and
// writes the report (tables, charts, claims, index.html) under reports/<matrix>/ after every finished cell.
import { basename, extname, join, resolve } from 'node:path';

import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { LiveReport } from '../../reports/liveReport.ts';
import { PUBLISHED_TEMPLATE, readPublished } from '../../reports/published.ts';
import { claimReportFolder } from '../../reports/reportFolder.ts';
import type { CellExecutor } from '../../runs/matrix/cellExecutor.ts';
import { gpuCount } from '../../runs/matrix/gpus.ts';
import { LocalPool } from '../../runs/matrix/localPool.ts';
import { dryRunLines } from '../../runs/matrix/dryRun.ts';
import { removeLeftoverTemporaries } from '../../runs/matrix/leftovers.ts';
import { assembleMatrixSpec, readMatrixSpecFile, type SpecReading } from '../../runs/matrix/matrixSpec.ts';
import { modelFactsFor } from '../../runs/matrix/modelFacts.ts';
import { planMatrix } from '../../runs/matrix/plan.ts';
import { PRESETS, presetSpec } from '../../runs/matrix/presets.ts';
import { formatDuration, MatrixProgress } from '../../runs/matrix/progressDisplay.ts';
import { RedisQueueExecutor } from '../../runs/matrix/redisQueue.ts';
import { RunStore } from '../../runs/matrix/runStore.ts';
import { measureStepSpeeds } from '../../runs/matrix/stepSpeed.ts';
import { runMatrix } from '../../runs/matrix/scheduler.ts';
import {
  allowEnvChangeOption, backendOption, choiceOption, dataDirOption, type FlagValues, listFlag, numberFlag, positiveInt, repeatable, stringFlag,
  threadsOption, UsageError,
} from '../command.ts';

/** The spec with every problem of its structure, exclusions and command line (the plan adds the rest). */
function loadSpec(values: FlagValues): SpecReading {
  const preset = stringFlag(values.preset);
  const file = stringFlag(values.spec);
  if (preset && file) throw new UsageError('sqakd matrix: give --preset or --spec, not both');
  if (!preset && !file) {
    throw new UsageError(`sqakd matrix: give --preset <name> (${Object.keys(PRESETS).join(', ')}) or --spec <file.yaml|json>`);
  }
  const read = preset ? presetSpec(preset) : readMatrixSpecFile(file!);
  const name = preset ?? basename(file!, extname(file!));
  const cli = { set: listFlag(values.set), only: listFlag(values.only) };
  // Not an object: nothing to add settings to; the reading says so.
  if (typeof read !== 'object' || read === null || Array.isArray(read)) return assembleMatrixSpec(read, name, cli);
  const raw = read as Record<string, unknown>;
  // Command-line settings override the spec's, and are validated with it.
  const scale = numberFlag(values.epochsScale, 'epochs-scale');
  if (scale !== undefined) raw.epochsScale = scale;
  const trainImages = numberFlag(values.trainImages, 'train-images');
  if (trainImages !== undefined) raw.trainImages = trainImages;
  if (values.name !== undefined) raw.name = stringFlag(values.name);
  for (const t of listFlag(values.teacher)) {
    const [pair, path] = t.split('=');
    if (!pair?.includes('/') || !path) throw new UsageError(`--teacher takes dataset/arch=checkpoint, got '${t}'`);
    raw.teachers = { ...(raw.teachers as Record<string, string> | undefined), [pair]: path };
  }
  return assembleMatrixSpec(raw, name, cli);
}


async function runMatrixCommand(values: FlagValues): Promise<void> {
  const { spec, problems } = loadSpec(values);
  const queue = stringFlag(values.queue) ?? (values.redis ? 'redis' : 'local');
  if (queue !== 'local' && queue !== 'redis') throw new UsageError(`--queue must be local or redis, got '${queue}'`);
  const redis = stringFlag(values.redis);
  if (queue === 'redis' && !redis) throw new UsageError('--queue redis needs --redis redis://host:port');
  const workers = values.workers === undefined ? undefined : positiveInt(values.workers, 'workers', 1);
  const threads = values.threads === undefined ? undefined : positiveInt(values.threads, 'threads', 1);
  const dataDir = resolveDataDir(stringFlag(values.dataDir));
  const backendRequest = stringFlag(values.backend);
  await initBackend(backendRequest);
  const pairs = spec.grids.flatMap((g) => g.arch.flatMap((a) => g.dataset.map((d) => [a, d] as [string, string])));
  const modelFacts = await modelFactsFor(pairs);
  const dryRun = values.dryRun === true;
  const plan = planMatrix(spec, {
    runsDir: resolve(stringFlag(values.runsDir) ?? 'runs'), dataDir, modelFacts, earlierProblems: problems,
    // A dry run reads no data: a missing folder is what a real run would still need, not a reason to refuse.
    missingData: dryRun ? 'warn' : 'error',
  });
  const store = new RunStore(plan.root);
  if (dryRun) {
    const speeds = await measureStepSpeeds(pairs, modelFacts);
    const lines = dryRunLines({
      plan, statusOf: (c) => store.status(c), wallSecondsOf: (id) => store.result(id)?.wallSeconds,
      speedOf: (c) => speeds.get(`${c.config.arch}/${c.config.dataset}`), warnings: plan.warnings,
    });
    for (const line of lines) console.log(line);
    return;
  }
  // A malformed published-numbers file is refused now, not by every report after hours of training.
  readPublished(stringFlag(values.published) ?? PUBLISHED_TEMPLATE);
  // Both folders are claimed before hours of training, not after.
  const reportsDir = join(resolve(stringFlag(values.reportsDir) ?? 'reports'), plan.name);
  const force = values.force === true;
  claimReportFolder(reportsDir, { force });
  // A report reads the cells from matrix.json; the landscape jobs' results are their students' landscape files.
  const sweeps = plan.cells.filter((c) => c.kind === 'landscape').map((c) => c.id);
  store.claim({ spec, cells: plan.cells.filter((c) => c.kind !== 'landscape').map((c) => c.id), ...(sweeps.length ? { landscapeJobs: sweeps } : {}) },
    { force });
  removeLeftoverTemporaries(plan.root);

  const executor: CellExecutor = queue === 'redis'
    ? new RedisQueueExecutor(store, redis!, stringFlag(values.queueName))
    : new LocalPool({ store, dataDir, backend: backendRequest, workers, threads, gpus: gpuCount(),
      allowEnvChange: values.allowEnvChange === true });
  const progress = new MatrixProgress({ store });
  const published = stringFlag(values.published) ?? PUBLISHED_TEMPLATE;
  const report = new LiveReport({ storeRoot: plan.root, name: plan.name, outDir: reportsDir, published },
    (line) => console.error(line));
  console.error(`matrix ${plan.name}: ${plan.cells.length} cells in ${plan.root}, ${executor.description}`);
  let summary;
  try {
    summary = await runMatrix(plan, store, executor, {
      retryFailed: values.retryFailed === true,
      onUpdate: (s) => {
        progress.update(s);
        // The report stays current while the matrix runs: rewritten as each cell finishes or fails.
        if (s.changed && (s.changed.state === 'finished' || s.changed.state === 'failed')) report.request();
      },
    });
  } finally {
    progress.finish();
    await executor.close();
    await report.flush();
  }
  report.request();
  await report.flush();
  console.log(`matrix ${plan.name}: ${summary.finished.length} cell(s) run, ${summary.skipped.length} already finished, ` +
    `${summary.failed.length} failed, ${summary.blocked.length} blocked, ${formatDuration(summary.wallSeconds)}; ` +
    `report: ${join(reportsDir, 'index.html')}`);
  for (const f of summary.failed) {
    console.error(`failed ${f.id}: ${f.error}\n  log ${store.workerLogPath(f.id)}:\n${f.log.split('\n').map((l) => `    ${l}`).join('\n')}`);
  }
  if (summary.failed.length || summary.blocked.length) process.exitCode = 1;
}

/** `sqakd matrix` (`npm run matrix`). */
export function matrixCommand(): Command {
  return new Command('matrix')
    .summary('run a matrix of cells (methods x quantizers x archs x bits x datasets x seeds) with shared teachers')
    .description('Plan a matrix from a preset or a spec file, train its teachers and cells in worker processes (locally, ' +
      'or through a Redis queue), skip what is finished, resume what was interrupted, and write the results table under ' +
      '<reports-dir>/<matrix>/ after every finished cell (sqakd report). Give --preset or --spec.')
    .addOption(choiceOption('--preset <name>', 'a built-in matrix', Object.keys(PRESETS)))
    .option('--spec <file>', 'a matrix spec, .yaml or .json (sqakd schema matrix prints its JSON Schema)')
    .option('--name <name>', "the matrix's name: its folder under --runs-dir and --reports-dir (default: the preset's or the file's)")
    .option('--epochs-scale <x>', 'multiply every schedule (teachers, students, pre-stages), at least one epoch each')
    .option('--train-images <n>', 'train every cell on the first N training images only')
    .addOption(repeatable('--set <axis=v1,v2>', "replace an axis's values in every grid"))
    .addOption(repeatable('--only <axis=v1,v2>', "keep only these values of an axis"))
    .addOption(repeatable('--teacher <dataset/arch=checkpoint>', 'use an existing teacher instead of training one'))
    .option('--dry-run', 'list the cells, the teachers they share and the estimated time; train nothing (needs no data)')
    .option('--workers <n>', 'cells trained at once on this machine (default: one per GPU, else one per 4 cores)')
    .addOption(threadsOption('threads per worker (default: the cores divided by --workers)'))
    .addOption(choiceOption('--queue <kind>',
      'where cells run: local worker processes, or a Redis queue (default: redis when --redis is given)', ['local', 'redis']))
    .option('--redis <url>', 'the Redis server of --queue redis, e.g. redis://127.0.0.1:6379')
    .option('--queue-name <name>', 'the Redis queue (default: sqakd-cells)')
    .option('--retry-failed', 'run cells that failed before again (default: report them)')
    .option('--runs-dir <dir>', 'the run store', 'runs')
    .option('--reports-dir <dir>', 'where reports go (index.html, tables, charts)', 'reports')
    .option('--published <file>', 'published numbers for the report (YAML; default: the template reports/published.yaml)')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .addOption(allowEnvChangeOption())
    .option('--force', "move another matrix's files out of the way (into replaced-<time>/) instead of refusing")
    .action(runMatrixCommand);
}
