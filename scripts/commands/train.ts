// `sqakd train`: one cell: a full-precision teacher (--quantizer none) or a quantized student trained with a method
// (ce, kd, sqakd or a feature-distillation method) from a teacher. Writes <out>/result.json, checkpoint.ckpt,
// log.jsonl, config.json; rerunning with the same --out resumes after the last finished epoch.
import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { QUANTIZERS } from '../../methods/quantizers/registry.ts';
import { methodLabel } from '../../methods/registry.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { runTraining } from '../../runs/trainer.ts';
import { refusedOnError } from '../../runs/runRefused.ts';
import {
  allowEnvChangeOption, backendOption, choiceOption, dataDirOption, type FlagValues, integerFlag, keyValueNumbers, numberFlag, positiveInt,
  repeatable, stringFlag, threadsOption, UsageError,
} from '../command.ts';

/** What the flags ask for, as the trainer's request; a malformed value is a UsageError naming its flag. */
function trainRequest(o: FlagValues): TrainRequest {
  const delta = stringFlag(o.ewgsDelta);
  const [objective, method] = [stringFlag(o.objective), stringFlag(o.method)];
  if (objective !== undefined && method !== undefined && objective !== method) {
    throw new UsageError(`sqakd train: --objective ${objective} and --method ${method} name the same setting; give one`);
  }
  return {
    recipe: stringFlag(o.recipe), dataset: stringFlag(o.dataset), arch: stringFlag(o.arch),
    quantizer: stringFlag(o.quantizer), wBits: integerFlag(o.wBits, 'w-bits'), aBits: integerFlag(o.aBits, 'a-bits'),
    method: objective ?? method, teacher: stringFlag(o.teacher), epochs: integerFlag(o.epochs, 'epochs'),
    batchSize: integerFlag(o.batchSize, 'batch-size'), seed: integerFlag(o.seed, 'seed'),
    lr: numberFlag(o.lr, 'lr'), lrQuantizer: numberFlag(o.lrQuantizer, 'lr-quantizer'),
    alpha: numberFlag(o.alpha, 'alpha'), gamma: numberFlag(o.gamma, 'gamma'),
    temperature: numberFlag(o.temperature, 'temperature'), labelSmoothing: numberFlag(o.labelSmoothing, 'label-smoothing'),
    fullPrecision: stringFlag(o.fpLayers)?.split(',').map((s) => s.trim()).filter(Boolean),
    perChannelWeights: o.perChannel === true ? true : undefined,
    ewgsDelta: delta === undefined ? undefined : delta === 'hessian' ? 'hessian' : numberFlag(delta, 'ewgs-delta'),
    pactTrainAlpha: o.pactFixedAlpha === true ? false : undefined,
    labelFree: o.labelFree === true ? true : undefined, beta: numberFlag(o.beta, 'beta'),
    preEpochs: integerFlag(o.preEpochs, 'pre-epochs'), methodOptions: keyValueNumbers(o.methodOption, 'method-option'),
    trainImages: integerFlag(o.trainImages, 'train-images'),
  };
}

async function train(o: FlagValues): Promise<void> {
  const out = stringFlag(o.out);
  if (!out) throw new UsageError('sqakd train: --out <folder> is required (where result.json and the checkpoint go)');
  const config = refusedOnError(() => resolveTrainConfig(trainRequest(o)));
  // The engine reads its thread count when it loads; the count is part of the run's numeric environment.
  if (o.threads !== undefined) process.env.SQAKD_THREADS = String(positiveInt(o.threads, 'threads', 1));
  const backend = await initBackend(stringFlag(o.backend));
  const result = runTraining(config, {
    out, dataDir: resolveDataDir(stringFlag(o.dataDir)), backend, progress: o.quiet ? null : process.stderr,
    force: o.force === true, allowEnvChange: o.allowEnvChange === true,
    teacherCheck: { minTop1: numberFlag(o.teacherMinTop1, 'teacher-min-top1'), action: o.weakTeacher as 'warn' | 'error' },
  });
  console.log(`${result.arch} on ${result.dataset}, ${result.quantizer === 'none' ? 'full precision'
    : `${result.quantizer} W${result.wBits}A${result.aBits}`}, ${methodLabel(result.method,
    result.config.settings.labelFree)}: top-1 ${result.top1.toFixed(2)}% ` +
    `(best ${result.top1Best.toFixed(2)}%${result.teacherTop1 === null ? '' : `, teacher ${result.teacherTop1.toFixed(2)}%`}), ` +
    `${result.epochs} epochs, ${Math.round(result.imagesPerSecond)} img/s, ${result.wallSeconds.toFixed(0)} s -> ${out}/result.json`);
}

/** `sqakd train`. */
export function trainCommand(): Command {
  const recipeDefault = "default: the recipe's";
  return new Command('train')
    .summary('train one model: a teacher (--quantizer none) or a quantized student with a method')
    .description('Train one model: a full-precision teacher (--quantizer none) or a quantized student with a method ' +
      '(sqakd list methods) from a teacher. Writes result.json, checkpoint.ckpt, log.jsonl and config.json to --out; ' +
      'run again with the same --out to resume after the last finished epoch.')
    .option('--out <folder>', 'required: where result.json, the checkpoint and the logs go (a folder of this run, or new)')
    .option('--recipe <name>', 'a paper recipe (sqakd list recipes); default: the one made for --dataset and --arch')
    .option('--dataset <name>', "dataset (sqakd data list); default: the recipe's")
    .option('--arch <name>', "architecture (sqakd list archs); default: the recipe's")
    .addOption(choiceOption('--quantizer <name>', 'none for a full-precision model; default: ewgs when bits are given, else none',
      ['none', ...Object.keys(QUANTIZERS)]))
    .option('--w-bits <n>', 'weight bits, 1 to 8 (default: --a-bits, else 2)')
    .option('--a-bits <n>', 'activation bits, 1 to 8 (default: --w-bits)')
    .option('--method <name>', 'training method (sqakd list methods): ce, kd, sqakd or a feature method (default: ce)')
    .option('--objective <name>', 'the same setting as --method (kept for older scripts)')
    .option('--teacher <checkpoint>', 'checkpoint of the trained full-precision teacher (methods that distil)')
    .option('--teacher-min-top1 <percent>', "the teacher top-1 below which it counts as too weak (default: 2x chance, 20 for 10 classes)")
    .addOption(choiceOption('--weak-teacher <action>', 'what a student of a too-weak teacher gets: a warning in its log and result, ' +
      'or a refusal before training', ['warn', 'error']).default('warn'))
    .option('--label-free', 'feature methods: train without the cross-entropy term and without labels')
    .option('--beta <x>', "weight of a feature method's loss (default: the method's)")
    .option('--pre-epochs <n>', "pre-stage epochs of FSP and FT (default: the method's, 30)")
    .addOption(repeatable('--method-option <key=value>', 'a method option, e.g. negatives=4096 for crd'))
    .option('--epochs <n>', `training epochs (${recipeDefault})`)
    .option('--train-images <n>', 'train on the first N training images only (default: all); the test split stays whole')
    .option('--batch-size <n>', `images per step (${recipeDefault})`)
    .option('--seed <n>', 'seed of initialisation, data order, augmentation and dropout (default: 1)')
    .option('--lr <x>', `learning rate of the weights (${recipeDefault})`)
    .option('--lr-quantizer <x>', `learning rate of the quantizers' parameters (${recipeDefault})`)
    .option('--alpha <x>', 'weight of the KL term (default: the method\'s; 0 for feature methods)')
    .option('--gamma <x>', 'weight of the cross-entropy term (default: 1)')
    .option('--temperature <x>', 'softmax temperature of the KL term (default: 4)')
    .option('--label-smoothing <x>', `label smoothing of the cross-entropy term (${recipeDefault})`)
    .option('--fp-layers <a,b>', 'layers kept in full precision, by module path (default: the architecture\'s first and last)')
    .option('--per-channel', 'quantize weights per output channel (default: per tensor)')
    .option('--ewgs-delta <x|hessian>', 'EWGS gradient-scaling delta, or hessian to estimate it (default: 0, the STE)')
    .option('--pact-fixed-alpha', "pact: keep the clipping level fixed (the public code's Tiny-ImageNet runs)")
    .addOption(dataDirOption())
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--force', 'move whatever --out holds into --out/replaced-<time>/ and train afresh')
    .addOption(allowEnvChangeOption())
    .option('--quiet', 'no progress bar')
    .action(train);
}
