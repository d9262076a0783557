// `sqakd matrix` (`npm run matrix`): plans a matrix from a preset or a spec file, trains its teachers and cells in
// worker processes (locally, or through a Redis queue), skips what is finished, resumes what was interrupted, and
// writes the results table under reports/<matrix>/.
import { basename, extname, join, resolve } from 'node:path';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { claimReportFolder, writeMatrixTables } from '../../reports/matrixTable.ts';
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
import { runMatrix } from '../../runs/matrix/scheduler.ts';
import { type Command, type FlagValues, numberFlag, positiveInt, stringFlag, UsageError } from '../command.ts';

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
  const list = (v: FlagValues[string]) => (v === undefined ? [] : Array.isArray(v) ? v : [String(v)]);
  const cli = { set: list(values.set), only: list(values.only) };
  // Not an object: nothing to add settings to; the reading says so.
  if (typeof read !== 'object' || read === null || Array.isArray(read)) return assembleMatrixSpec(read, name, cli);
  const raw = read as Record<string, unknown>;
  // Command-line settings override the spec's, and are validated with it.
  const scale = numberFlag(values['epochs-scale'], 'epochs-scale');
  if (scale !== undefined) raw.epochsScale = scale;
  const trainImages = numberFlag(values['train-images'], 'train-images');
  if (trainImages !== undefined) raw.trainImages = trainImages;
  if (values.name !== undefined) raw.name = stringFlag(values.name);
  const teachers = values.teacher === undefined ? [] : Array.isArray(values.teacher) ? values.teacher : [String(values.teacher)];
  for (const t of teachers) {
    const [pair, path] = t.split('=');
    if (!pair?.includes('/') || !path) throw new UsageError(`--teacher takes dataset/arch=checkpoint, got '${t}'`);
    raw.teachers = { ...(raw.teachers as Record<string, string> | undefined), [pair]: path };
  }
  return assembleMatrixSpec(raw, name, cli);
}


export const matrixCommand: Command = {
  summary: 'run a matrix of cells (methods x quantizers x archs x bits x datasets x seeds) with shared teachers',
  usage: 'sqakd matrix --preset smoke|mnist|table4-cifar10|table4-cifar100|table5-tiny|table6-tiny|table7 | --spec <file> ' +
    '[--name N] [--epochs-scale X] [--train-images N] [--set axis=v1,v2 ...] [--only axis=v1,v2 ...] ' +
    '[--teacher dataset/arch=checkpoint ...] [--dry-run] [--workers N] [--threads N] ' +
    '[--queue local|redis] [--redis redis://host:6379] [--queue-name Q] [--retry-failed] [--runs-dir runs] ' +
    '[--reports-dir reports] [--data-dir <dir>] [--backend ...] [--allow-env-change] [--force]',
  options: {
    preset: { type: 'string' }, spec: { type: 'string' }, name: { type: 'string' }, 'epochs-scale': { type: 'string' },
    'train-images': { type: 'string' }, set: { type: 'string', multiple: true }, only: { type: 'string', multiple: true },
    teacher: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' },
    workers: { type: 'string' }, threads: { type: 'string' }, queue: { type: 'string' }, redis: { type: 'string' }, 'queue-name': { type: 'string' },
    'retry-failed': { type: 'boolean' }, 'runs-dir': { type: 'string' }, 'reports-dir': { type: 'string' },
    'data-dir': { type: 'string' }, backend: { type: 'string' }, 'allow-env-change': { type: 'boolean' },
    force: { type: 'boolean' },
  },
  async run(values) {
    const { spec, problems } = loadSpec(values);
    const queue = stringFlag(values.queue) ?? (values.redis ? 'redis' : 'local');
    if (queue !== 'local' && queue !== 'redis') throw new UsageError(`--queue must be local or redis, got '${queue}'`);
    const redis = stringFlag(values.redis);
    if (queue === 'redis' && !redis) throw new UsageError('--queue redis needs --redis redis://host:port');
    const workers = values.workers === undefined ? undefined : positiveInt(values.workers, 'workers', 1);
    const threads = values.threads === undefined ? undefined : positiveInt(values.threads, 'threads', 1);
    const dataDir = resolveDataDir(stringFlag(values['data-dir']));
    const backendRequest = stringFlag(values.backend);
    await initBackend(backendRequest);
    const pairs = spec.grids.flatMap((g) => g.arch.flatMap((a) => g.dataset.map((d) => [a, d] as [string, string])));
    const plan = planMatrix(spec, {
      runsDir: resolve(stringFlag(values['runs-dir']) ?? 'runs'), dataDir, modelFacts: await modelFactsFor(pairs),
      earlierProblems: problems,
    });
    const store = new RunStore(plan.root);
    if (values['dry-run']) {
      for (const line of dryRunLines(plan, (c) => store.status(c), (id) => store.result(id)?.wallSeconds)) console.log(line);
      return;
    }
    // Both folders are claimed before hours of training, not after.
    const reportsDir = join(resolve(stringFlag(values['reports-dir']) ?? 'reports'), plan.name);
    const force = values.force === true;
    claimReportFolder(reportsDir, { force });
    store.claim({ spec, cells: plan.cells.map((c) => c.id) }, { force });
    removeLeftoverTemporaries(plan.root);

    const executor: CellExecutor = queue === 'redis'
      ? new RedisQueueExecutor(store, redis!, stringFlag(values['queue-name']))
      : new LocalPool({ store, dataDir, backend: backendRequest, workers, threads, gpus: gpuCount(),
        allowEnvChange: values['allow-env-change'] === true });
    const progress = new MatrixProgress();
    console.error(`matrix ${plan.name}: ${plan.cells.length} cells in ${plan.root}, ${executor.description}`);
    let summary;
    try {
      summary = await runMatrix(plan, store, executor, {
        retryFailed: values['retry-failed'] === true, onUpdate: (s) => progress.update(s),
      });
    } finally {
      progress.finish();
      await executor.close();
    }
    const reports = writeMatrixTables(plan, store, reportsDir);
    console.log(`matrix ${plan.name}: ${summary.finished.length} cell(s) run, ${summary.skipped.length} already finished, ` +
      `${summary.failed.length} failed, ${summary.blocked.length} blocked, ${formatDuration(summary.wallSeconds)}; ` +
      `table: ${reports[0]}`);
    for (const f of summary.failed) {
      console.error(`failed ${f.id}: ${f.error}\n  log ${store.workerLogPath(f.id)}:\n${f.log.split('\n').map((l) => `    ${l}`).join('\n')}`);
    }
    if (summary.failed.length || summary.blocked.length) process.exitCode = 1;
  },
};
