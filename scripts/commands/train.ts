// `sqakd train`: one cell: a full-precision teacher (--quantizer none) or a quantized student trained with an
// objective (ce, kd or sqakd) from a teacher. Writes <out>/result.json, checkpoint.ckpt, log.jsonl, config.json;
// rerunning with the same --out resumes after the last finished epoch.
import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { QUANTIZERS } from '../../methods/quantizers/registry.ts';
import { methodLabel } from '../../methods/registry.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { runTraining } from '../../runs/trainer.ts';
import { type Command, integerFlag, keyValueNumbers, numberFlag, positiveInt, stringFlag, UsageError } from '../command.ts';

export const trainCommand: Command = {
  summary: 'train one model: a teacher (--quantizer none) or a quantized student with a method (sqakd list methods)',
  usage: 'sqakd train --out <folder> [--recipe cifar10-resnet20] [--dataset cifar10] [--arch resnet20] ' +
    `[--quantizer none|${Object.keys(QUANTIZERS).join('|')}] [--w-bits 2] [--a-bits 2] [--method ce|kd|sqakd|at|...] ` +
    '[--objective <method> (same as --method)] [--label-free] [--teacher <checkpoint>] [--beta X] [--pre-epochs N] [--method-option key=value ...] ' +
    '[--epochs N] [--train-images N] [--batch-size N] [--seed N] [--lr X] [--lr-quantizer X] [--alpha X] [--gamma X] [--temperature X] ' +
    '[--label-smoothing X] [--fp-layers a,b] [--per-channel] [--ewgs-delta X|hessian] [--pact-fixed-alpha] ' +
    '[--data-dir <dir>] [--backend ...] [--threads N] [--force] [--allow-env-change] [--quiet]',
  options: {
    out: { type: 'string' }, recipe: { type: 'string' }, dataset: { type: 'string' }, arch: { type: 'string' },
    quantizer: { type: 'string' }, 'w-bits': { type: 'string' }, 'a-bits': { type: 'string' },
    objective: { type: 'string' }, method: { type: 'string' }, teacher: { type: 'string' },
    epochs: { type: 'string' }, 'train-images': { type: 'string' }, 'batch-size': { type: 'string' }, seed: { type: 'string' }, lr: { type: 'string' },
    'lr-quantizer': { type: 'string' }, alpha: { type: 'string' }, gamma: { type: 'string' },
    temperature: { type: 'string' }, 'label-smoothing': { type: 'string' }, 'fp-layers': { type: 'string' },
    'per-channel': { type: 'boolean' }, 'ewgs-delta': { type: 'string' }, 'pact-fixed-alpha': { type: 'boolean' },
    'label-free': { type: 'boolean' }, beta: { type: 'string' }, 'pre-epochs': { type: 'string' },
    'method-option': { type: 'string', multiple: true },
    'data-dir': { type: 'string' }, backend: { type: 'string' }, quiet: { type: 'boolean' },
    threads: { type: 'string' }, force: { type: 'boolean' }, 'allow-env-change': { type: 'boolean' },
  },
  async run(values) {
    const out = stringFlag(values.out);
    if (!out) throw new UsageError('sqakd train: --out <folder> is required (where result.json and the checkpoint go)');
    const delta = stringFlag(values['ewgs-delta']);
    const [objective, method] = [stringFlag(values.objective), stringFlag(values.method)];
    if (objective !== undefined && method !== undefined && objective !== method) {
      throw new UsageError(`sqakd train: --objective ${objective} and --method ${method} name the same setting; give one`);
    }
    const request: TrainRequest = {
      recipe: stringFlag(values.recipe), dataset: stringFlag(values.dataset), arch: stringFlag(values.arch),
      quantizer: stringFlag(values.quantizer), wBits: integerFlag(values['w-bits'], 'w-bits'),
      aBits: integerFlag(values['a-bits'], 'a-bits'), method: objective ?? method,
      teacher: stringFlag(values.teacher), epochs: integerFlag(values.epochs, 'epochs'),
      batchSize: integerFlag(values['batch-size'], 'batch-size'), seed: integerFlag(values.seed, 'seed'),
      lr: numberFlag(values.lr, 'lr'), lrQuantizer: numberFlag(values['lr-quantizer'], 'lr-quantizer'),
      alpha: numberFlag(values.alpha, 'alpha'), gamma: numberFlag(values.gamma, 'gamma'),
      temperature: numberFlag(values.temperature, 'temperature'),
      labelSmoothing: numberFlag(values['label-smoothing'], 'label-smoothing'),
      fullPrecision: stringFlag(values['fp-layers'])?.split(',').map((s) => s.trim()).filter(Boolean),
      perChannelWeights: values['per-channel'] === true ? true : undefined,
      ewgsDelta: delta === undefined ? undefined : delta === 'hessian' ? 'hessian' : numberFlag(delta, 'ewgs-delta'),
      pactTrainAlpha: values['pact-fixed-alpha'] === true ? false : undefined,
      labelFree: values['label-free'] === true ? true : undefined, beta: numberFlag(values.beta, 'beta'),
      preEpochs: integerFlag(values['pre-epochs'], 'pre-epochs'),
      methodOptions: keyValueNumbers(values['method-option'], 'method-option'),
      trainImages: integerFlag(values['train-images'], 'train-images'),
    };
    const config = resolveTrainConfig(request);
    // The engine reads its thread count when it loads; the count is part of the run's numeric environment.
    if (values.threads !== undefined) process.env.SQAKD_THREADS = String(positiveInt(values.threads, 'threads', 1));
    const backend = await initBackend(stringFlag(values.backend));
    const result = runTraining(config, {
      out, dataDir: resolveDataDir(stringFlag(values['data-dir'])), backend,
      progress: values.quiet ? null : process.stderr, force: values.force === true,
      allowEnvChange: values['allow-env-change'] === true,
    });
    console.log(`${result.arch} on ${result.dataset}, ${result.quantizer === 'none' ? 'full precision'
      : `${result.quantizer} W${result.wBits}A${result.aBits}`}, ${methodLabel(result.method,
      result.config.settings.labelFree)}: top-1 ${result.top1.toFixed(2)}% ` +
      `(best ${result.top1Best.toFixed(2)}%${result.teacherTop1 === null ? '' : `, teacher ${result.teacherTop1.toFixed(2)}%`}), ` +
      `${result.epochs} epochs, ${Math.round(result.imagesPerSecond)} img/s, ${result.wallSeconds.toFixed(0)} s -> ${out}/result.json`);
  },
};
