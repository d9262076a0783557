// `sqakd eval`: the accuracy of a saved model on a dataset's test split.
import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { emptyCache, initBackend } from '../../engine/index.ts';
import { evaluate } from '../../runs/evaluate.ts';
import { describeCheckpoint, loadTrainedModel } from '../../runs/trainedModel.ts';
import { refusedOnError } from '../../runs/runRefused.ts';
import { backendOption, dataDirOption, type FlagValues, stringFlag, UsageError } from '../command.ts';

async function evalCheckpoint(o: FlagValues): Promise<void> {
  const path = stringFlag(o.checkpoint);
  if (!path) throw new UsageError('sqakd eval: --checkpoint <file> is required');
  const backend = await initBackend(stringFlag(o.backend));
  const { model, meta } = refusedOnError(() => loadTrainedModel(path));
  try {
    const arch = stringFlag(o.arch);
    if (arch && arch !== meta.config.arch) {
      throw new UsageError(`checkpoint ${path} holds ${describeCheckpoint(meta)}, not a ${arch}`);
    }
    const dataset = stringFlag(o.dataset) ?? meta.config.dataset;
    const spec = refusedOnError(() => datasetSpec(dataset));
    if (spec.classes !== meta.input.classes || spec.channels !== meta.input.channels) {
      throw new UsageError(`checkpoint ${path} holds ${describeCheckpoint(meta)} (${meta.input.classes} classes, ` +
        `${meta.input.channels} channels); ${dataset} has ${spec.classes} classes and ${spec.channels} channels`);
    }
    const testSet = refusedOnError(() => spec.load(resolveDataDir(stringFlag(o.dataDir)), 'test'));
    // Loading freed the checkpoint's copies; an evaluation-only phase needs none of the training-sized cache.
    emptyCache();
    const accuracy = evaluate(model, testSet, spec);
    const result = { checkpoint: path, dataset, arch: meta.config.arch, backend, ...accuracy };
    console.log(o.json ? JSON.stringify(result)
      : `${describeCheckpoint(meta)} on ${dataset} test: top-1 ${accuracy.top1.toFixed(2)}%, top-5 ${accuracy.top5.toFixed(2)}%`);
  } finally {
    model.dispose();
  }
}

/** `sqakd eval`. */
export function evalCommand(): Command {
  return new Command('eval')
    .description('evaluate a checkpoint on a test split (top-1, top-5)')
    .option('--checkpoint <file>', 'required: a checkpoint written by sqakd train or a matrix cell')
    .option('--dataset <name>', "test split to evaluate on (default: the checkpoint's dataset)")
    .option('--arch <name>', 'refuse unless the checkpoint holds this architecture')
    .option('--json', 'print one JSON line')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .action(evalCheckpoint);
}
