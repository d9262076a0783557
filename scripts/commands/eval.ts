// `sqakd eval`: the accuracy of a saved model on a dataset's test split.
import { resolveDataDir } from '../../datasets/dataDir.ts';
import { datasetSpec } from '../../datasets/registry.ts';
import { emptyCache, initBackend } from '../../engine/index.ts';
import { evaluate } from '../../runs/evaluate.ts';
import { describeCheckpoint, loadTrainedModel } from '../../runs/trainedModel.ts';
import { type Command, stringFlag, UsageError } from '../command.ts';

export const evalCommand: Command = {
  summary: 'evaluate a checkpoint on a test split (top-1, top-5)',
  usage: 'sqakd eval --checkpoint <file> [--dataset <name>] [--arch <name>] [--data-dir <dir>] [--json] [--backend ...]',
  options: {
    checkpoint: { type: 'string' }, dataset: { type: 'string' }, arch: { type: 'string' },
    'data-dir': { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' },
  },
  async run(values) {
    const path = stringFlag(values.checkpoint);
    if (!path) throw new UsageError('sqakd eval: --checkpoint <file> is required');
    const backend = await initBackend(stringFlag(values.backend));
    const { model, meta } = loadTrainedModel(path);
    try {
      const arch = stringFlag(values.arch);
      if (arch && arch !== meta.config.arch) {
        throw new UsageError(`checkpoint ${path} holds ${describeCheckpoint(meta)}, not a ${arch}`);
      }
      const dataset = stringFlag(values.dataset) ?? meta.config.dataset;
      const spec = datasetSpec(dataset);
      if (spec.classes !== meta.input.classes || spec.channels !== meta.input.channels) {
        throw new UsageError(`checkpoint ${path} holds ${describeCheckpoint(meta)} (${meta.input.classes} classes, ` +
          `${meta.input.channels} channels); ${dataset} has ${spec.classes} classes and ${spec.channels} channels`);
      }
      const testSet = spec.load(resolveDataDir(stringFlag(values['data-dir'])), 'test');
      // Loading freed the checkpoint's copies; an evaluation-only phase needs none of the training-sized cache.
      emptyCache();
      const accuracy = evaluate(model, testSet, spec);
      const result = { checkpoint: path, dataset, arch: meta.config.arch, backend, ...accuracy };
      console.log(values.json ? JSON.stringify(result)
        : `${describeCheckpoint(meta)} on ${dataset} test: top-1 ${accuracy.top1.toFixed(2)}%, top-5 ${accuracy.top5.toFixed(2)}%`);
    } finally {
      model.dispose();
    }
  },
};
