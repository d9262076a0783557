// The paper's training recipes (SPEC section 4) as named presets, so nobody retypes its hyper-parameters. A recipe
// gives the full-precision teacher's settings and, for a quantizer and bit widths, the student's.
import { didYouMean } from '../engine/didYouMean.ts';
import type { Schedule } from './optim/schedule.ts';

export interface OptimizerSpec {
  kind: 'sgd' | 'adam';
  lr: number;
  weightDecay: number;
  momentum?: number;
  nesterov?: boolean;
}

export interface PhaseRecipe {
  epochs: number;
  batchSize: number;
  /** The model parameters' optimizer. */
  model: OptimizerSpec;
  /** The quantizer parameters' optimizer, or 'model' to train them with the model's (Tiny-ImageNet recipes). */
  quantizer: OptimizerSpec | 'model';
  schedule: Schedule;
  /** For cross-entropy terms. */
  labelSmoothing: number;
  /** Weight of the KL term for SQAKD / KD (SPEC section 1). */
  alpha: number;
}

export interface Recipe {
  description: string;
  dataset: string;
  arch: string;
  teacher: PhaseRecipe;
  student(quantizer: string, wBits: number, aBits: number): PhaseRecipe;
}

const cosine: Schedule = { kind: 'cosine-epoch' };

/** CIFAR (Table 4): SGD teachers; students with Adam for the model and Adam without decay for the quantizers. */
function cifar(dataset: string, arch: string, epochs: number, batchSize: number, fp: { lr: number; wd: number },
  qat: { lr: number; lrQuantizer: number; wd: number }, alpha: (w: number, a: number) => number): Recipe {
  return {
    description: `${dataset} ${arch}: ${epochs} epochs, batch ${batchSize} (SPEC section 4, Table 4)`,
    dataset,
    arch,
    teacher: {
      epochs, batchSize, schedule: cosine, labelSmoothing: 0, alpha: 1, quantizer: 'model',
      model: { kind: 'sgd', lr: fp.lr, momentum: 0.9, weightDecay: fp.wd },
    },
    student: (_quantizer, w, a) => ({
      epochs, batchSize, schedule: cosine, labelSmoothing: 0, alpha: alpha(w, a),
      model: { kind: 'adam', lr: qat.lr, weightDecay: qat.wd },
      quantizer: { kind: 'adam', lr: qat.lrQuantizer, weightDecay: 0 },
    }),
  };
}

const TINY_WARMUP: Schedule = { kind: 'warmup-cosine', warmupIterations: 2500, warmupFrom: 1e-4 };

/** Tiny-ImageNet (Tables 5-6): SGD with Nesterov momentum for everything, warm-up then cosine per iteration. */
function tiny(arch: string, batchSize: number, fp: { lr: number; wd: number },
  alpha: (quantizer: string, w: number, a: number) => number): Recipe {
  const sgd = (lr: number, wd: number) => ({ kind: 'sgd' as const, lr, weightDecay: wd, momentum: 0.9, nesterov: true });
  return {
    description: `Tiny-ImageNet ${arch}: 100 epochs, batch ${batchSize} (SPEC section 4, Tables 5-6)`,
    dataset: 'tiny-imagenet',
    arch,
    teacher: {
      epochs: 100, batchSize, schedule: TINY_WARMUP, labelSmoothing: 0.1, alpha: 1, quantizer: 'model',
      model: sgd(fp.lr, fp.wd),
    },
    student: (quantizer, w, a) => {
      const low = Math.max(w, a) <= 3;
      return {
        epochs: 100, batchSize, schedule: TINY_WARMUP, labelSmoothing: 0.1, alpha: alpha(quantizer, w, a),
        model: low ? sgd(4e-3, 1e-4) : sgd(5e-4, 5e-4), quantizer: 'model',
      };
    },
  };
}

const one = () => 1;

/** The suite's own quick recipes for cnn-small: SGD teachers, Adam/Adam students (quantizer lr 1e-4 for short runs). */
function quick(dataset: string, epochs: number, batchSize: number, description: string): Recipe {
  const common = { epochs, batchSize, schedule: cosine, labelSmoothing: 0, alpha: 1 };
  return {
    description,
    dataset,
    arch: 'cnn-small',
    teacher: { ...common, quantizer: 'model', model: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } },
    student: () => ({
      ...common, model: { kind: 'adam', lr: 1e-3, weightDecay: 1e-4 }, quantizer: { kind: 'adam', lr: 1e-4, weightDecay: 0 },
    }),
  };
}

export const RECIPES: Record<string, Recipe> = {
  'cifar10-resnet20': cifar('cifar10', 'resnet20', 1200, 256, { lr: 0.1, wd: 1e-4 }, { lr: 1e-3, lrQuantizer: 1e-5, wd: 1e-4 }, one),
  'cifar10-vgg8': cifar('cifar10', 'vgg8', 400, 256, { lr: 0.1, wd: 1e-4 }, { lr: 1e-3, lrQuantizer: 1e-5, wd: 1e-4 }, one),
  'cifar100-resnet32': cifar('cifar100', 'resnet32', 720, 64, { lr: 0.05, wd: 5e-4 }, { lr: 5e-4, lrQuantizer: 5e-6, wd: 5e-4 },
    (w, a) => (w === 4 && a === 4 ? 100 : 1)),
  'cifar100-vgg13': cifar('cifar100', 'vgg13', 720, 64, { lr: 0.05, wd: 5e-4 }, { lr: 5e-4, lrQuantizer: 5e-6, wd: 5e-4 }, one),
  'tiny-resnet18': tiny('resnet18', 64, { lr: 5e-2, wd: 5e-4 }, one),
  'tiny-vgg11bn': tiny('vgg11bn', 32, { lr: 5e-2, wd: 5e-4 }, (_q, w, a) => (Math.max(w, a) <= 3 ? 10 : 100)),
  'tiny-mobilenetv2': tiny('mobilenetv2', 64, { lr: 4e-3, wd: 1e-4 }, (_q, w, a) => (Math.max(w, a) <= 3 ? 10 : 100)),
  'tiny-shufflenetv2': tiny('shufflenetv2', 64, { lr: 5e-2, wd: 5e-4 }, (q, w, a) =>
    (q === 'pact' && w === 4 && a === 4 ? 100 : q === 'dorefa' && w === 8 && a === 8 ? 800 : 1)),
  'tiny-squeezenet': tiny('squeezenet', 64, { lr: 5e-2, wd: 5e-4 }, () => 50),
  // Quick recipes of this suite (not from the paper), for tests and smoke runs.
  'mnist-cnn-small': quick('mnist', 2, 128,
    'MNIST cnn-small: 2 teacher epochs (SGD), 2 student epochs (Adam/Adam); for tests and quick looks'),
  'synthetic-cnn-small': quick('synthetic', 4, 64, 'the built-in synthetic set with cnn-small: a few epochs, for smoke runs'),
};

export function recipeNames(): string[] {
  return Object.keys(RECIPES);
}

/** A recipe by name; unknown names are an error listing the valid ones. */
export function recipe(name: string): Recipe {
  const r = Object.hasOwn(RECIPES, name) ? RECIPES[name] : undefined;
  if (!r) throw new Error(`unknown recipe '${name}'${didYouMean(name, recipeNames())} (valid: ${recipeNames().join(', ')})`);
  return r;
}

/** The recipe made for a dataset and architecture, if there is one. */
export function defaultRecipeName(dataset: string, arch: string): string | undefined {
  const base = dataset === 'tiny-imagenet-224' ? 'tiny-imagenet' : dataset;
  return recipeNames().find((name) => RECIPES[name].dataset === base && RECIPES[name].arch === arch);
}
