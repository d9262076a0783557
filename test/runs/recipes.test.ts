// The training recipes against SPEC section 4's tables (the expected values below are typed in from the SPEC
// text, not read from runs/recipes.ts), and resolveTrainConfig: defaults, overrides and its one-line errors.
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { defaultRecipeName, type PhaseRecipe, recipe, RECIPES, recipeNames } from '../../runs/recipes.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const QUANTIZERS = ['ewgs', 'pact', 'lsq', 'dorefa'];

// ---- SPEC section 4, CIFAR (Table 4) ----

interface CifarRow {
  name: string;
  dataset: string;
  arch: string;
  epochs: number;
  batch: number;
  fp: { lr: number; wd: number };
  /** QAT: lr_m, lr_q, wd; bits; SQAKD alpha per bit width. */
  qat: { lrM: number; lrQ: number; wd: number };
  alpha: Record<number, number>;
}

const CIFAR: CifarRow[] = [
  { name: 'cifar10-resnet20', dataset: 'cifar10', arch: 'resnet20', epochs: 1200, batch: 256, fp: { lr: 0.1, wd: 1e-4 },
    qat: { lrM: 1e-3, lrQ: 1e-5, wd: 1e-4 }, alpha: { 1: 1, 2: 1, 4: 1 } },
  { name: 'cifar10-vgg8', dataset: 'cifar10', arch: 'vgg8', epochs: 400, batch: 256, fp: { lr: 0.1, wd: 1e-4 },
    qat: { lrM: 1e-3, lrQ: 1e-5, wd: 1e-4 }, alpha: { 2: 1 } },
  { name: 'cifar100-resnet32', dataset: 'cifar100', arch: 'resnet32', epochs: 720, batch: 64, fp: { lr: 0.05, wd: 5e-4 },
    qat: { lrM: 5e-4, lrQ: 5e-6, wd: 5e-4 }, alpha: { 1: 1, 2: 1, 4: 100 } },
  { name: 'cifar100-vgg13', dataset: 'cifar100', arch: 'vgg13', epochs: 720, batch: 64, fp: { lr: 0.05, wd: 5e-4 },
    qat: { lrM: 5e-4, lrQ: 5e-6, wd: 5e-4 }, alpha: { 1: 1, 2: 1, 4: 1 } },
];

// ---- SPEC section 4, Tiny-ImageNet (Tables 5-6) ----

interface TinyRow {
  name: string;
  arch: string;
  batch: number;
  fp: { lr: number; wd: number };
  /** SQAKD alpha for a quantizer and bit width (W = A). */
  alpha: (quantizer: string, bits: number) => number;
  /** Whether the table has a W3A3 column for the model. */
  w3a3: boolean;
}

const TINY: TinyRow[] = [
  { name: 'tiny-resnet18', arch: 'resnet18', batch: 64, fp: { lr: 5e-2, wd: 5e-4 }, alpha: () => 1, w3a3: true },
  { name: 'tiny-vgg11bn', arch: 'vgg11bn', batch: 32, fp: { lr: 5e-2, wd: 5e-4 }, alpha: (_q, b) => (b === 3 ? 10 : 100), w3a3: true },
  { name: 'tiny-mobilenetv2', arch: 'mobilenetv2', batch: 64, fp: { lr: 4e-3, wd: 1e-4 }, alpha: (_q, b) => (b === 3 ? 10 : 100), w3a3: true },
  // "PACT W4A4 100, DoReFa W8A8 800" (1 elsewhere)
  { name: 'tiny-shufflenetv2', arch: 'shufflenetv2', batch: 64, fp: { lr: 5e-2, wd: 5e-4 },
    alpha: (q, b) => (q === 'pact' && b === 4 ? 100 : q === 'dorefa' && b === 8 ? 800 : 1), w3a3: false },
  { name: 'tiny-squeezenet', arch: 'squeezenet', batch: 64, fp: { lr: 5e-2, wd: 5e-4 }, alpha: () => 50, w3a3: false },
];

describe('recipes: SPEC section 4', () => {
  it('every paper recipe is there, plus the suite\'s quick ones', () => {
    expect(recipeNames().sort()).toEqual([...CIFAR.map((r) => r.name), ...TINY.map((r) => r.name),
      'mnist-cnn-small', 'synthetic-cnn-small'].sort());
  });

  for (const row of CIFAR) {
    it(`${row.name}: SGD teacher and Adam/Adam students as Table 4`, () => {
      const r = recipe(row.name);
      expect([r.dataset, r.arch]).toEqual([row.dataset, row.arch]);
      expect(defaultRecipeName(row.dataset, row.arch)).toBe(row.name);
      // FP teacher: SGD momentum 0.9, nesterov off, cosine, CE (no label smoothing).
      const t = r.teacher;
      expect([t.epochs, t.batchSize, t.labelSmoothing, t.alpha]).toEqual([row.epochs, row.batch, 0, 1]);
      expect(t.schedule).toEqual({ kind: 'cosine-epoch' });
      expect(t.model.kind).toBe('sgd');
      expect(t.model.lr).toBe(row.fp.lr);
      expect(t.model.weightDecay).toBe(row.fp.wd);
      expect(t.model.momentum).toBe(0.9);
      expect(t.model.nesterov ?? false).toBe(false);
      // QAT: Adam (lr_m, coupled wd) for the model, Adam (lr_q, no decay) for the quantizers, cosine per epoch.
      for (const quantizer of QUANTIZERS) {
        for (const [bits, alpha] of Object.entries(row.alpha).map(([b, a]) => [Number(b), a])) {
          const s: PhaseRecipe = r.student(quantizer, bits, bits);
          expect([s.epochs, s.batchSize, s.labelSmoothing]).toEqual([row.epochs, row.batch, 0]);
          expect(s.schedule).toEqual({ kind: 'cosine-epoch' });
          expect(s.model).toEqual({ kind: 'adam', lr: row.qat.lrM, weightDecay: row.qat.wd });
          expect(s.quantizer).toEqual({ kind: 'adam', lr: row.qat.lrQ, weightDecay: 0 });
          expect(s.alpha, `${quantizer} W${bits}A${bits} alpha`).toBe(alpha);
        }
      }
    });
  }

  for (const row of TINY) {
    it(`${row.name}: Nesterov SGD, 2500-iteration warm-up from 1e-4, 100 epochs, label smoothing 0.1 (Tables 5-6)`, () => {
      const r = recipe(row.name);
      expect([r.dataset, r.arch]).toEqual(['tiny-imagenet', row.arch]);
      expect(defaultRecipeName('tiny-imagenet', row.arch)).toBe(row.name);
      expect(defaultRecipeName('tiny-imagenet-224', row.arch)).toBe(row.name);
      const warmup = { kind: 'warmup-cosine', warmupIterations: 2500, warmupFrom: 1e-4 };
      const t = r.teacher;
      expect([t.epochs, t.batchSize, t.labelSmoothing]).toEqual([100, row.batch, 0.1]);
      expect(t.schedule).toEqual(warmup);
      expect(t.model).toEqual({ kind: 'sgd', lr: row.fp.lr, weightDecay: row.fp.wd, momentum: 0.9, nesterov: true });
      // QAT lr / wd: 5e-4 / 5e-4 at W8A8 and W4A4, 4e-3 / 1e-4 at W3A3.
      for (const quantizer of ['pact', 'lsq', 'dorefa']) {
        for (const bits of row.w3a3 ? [8, 4, 3] : [8, 4]) {
          const s = r.student(quantizer, bits, bits);
          expect([s.epochs, s.batchSize, s.labelSmoothing]).toEqual([100, row.batch, 0.1]);
          expect(s.schedule).toEqual(warmup);
          const [lr, wd] = bits === 3 ? [4e-3, 1e-4] : [5e-4, 5e-4];
          expect(s.model).toEqual({ kind: 'sgd', lr, weightDecay: wd, momentum: 0.9, nesterov: true });
          expect(s.quantizer).toBe('model');
          expect(s.alpha, `${quantizer} W${bits}A${bits} alpha`).toBe(row.alpha(quantizer, bits));
        }
      }
    });
  }

  it('the alphas SPEC singles out', () => {
    expect(recipe('cifar100-resnet32').student('ewgs', 4, 4).alpha).toBe(100);
    expect(recipe('cifar100-resnet32').student('ewgs', 2, 2).alpha).toBe(1);
    expect(recipe('tiny-shufflenetv2').student('pact', 4, 4).alpha).toBe(100);
    expect(recipe('tiny-shufflenetv2').student('dorefa', 8, 8).alpha).toBe(800);
    expect(recipe('tiny-shufflenetv2').student('lsq', 4, 4).alpha).toBe(1);
    expect(recipe('tiny-squeezenet').student('lsq', 8, 8).alpha).toBe(50);
    expect(recipe('tiny-vgg11bn').student('pact', 3, 3).alpha).toBe(10);
    expect(recipe('tiny-mobilenetv2').student('dorefa', 4, 4).alpha).toBe(100);
    // Tiny W3A3: lr 4e-3, wd 1e-4
    expect(recipe('tiny-resnet18').student('lsq', 3, 3).model).toMatchObject({ lr: 4e-3, weightDecay: 1e-4 });
  });
});

// ---- resolveTrainConfig ----

/** The message of the error `request` raises ('' if none). */
function errorOf(request: TrainRequest): string {
  try {
    resolveTrainConfig(request);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('resolveTrainConfig', () => {
  it('defaults: full precision, CE, the paper recipe of the dataset and architecture, seed 1, T = 4', () => {
    const c = resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20' });
    expect(c.quantization).toBeNull();
    expect(c.method).toBe('ce');
    expect(c.teacher).toBeNull();
    expect(c.recipe).toBe('cifar10-resnet20');
    expect(c.seed).toBe(1);
    expect(c.phase).toEqual(RECIPES['cifar10-resnet20'].teacher);
    expect(c.phase.epochs).toBe(1200);
    // CE is an objective: no feature-loss weight, no pre-stage, reads labels.
    expect(c.settings).toEqual({ alpha: 1, gamma: 1, beta: 0, temperature: 4, labelSmoothing: 0, labelFree: false, preEpochs: 0,
      options: {} });
  });

  it('a quantized SQAKD student takes the student recipe: CIFAR-100 ResNet-32 W4A4 has alpha 100', () => {
    const c = resolveTrainConfig({ dataset: 'cifar100', arch: 'resnet32', quantizer: 'ewgs', wBits: 4, aBits: 4,
      method: 'sqakd', teacher: 'teacher.ckpt' });
    expect(c.quantization).toEqual({ quantizer: 'ewgs', wBits: 4, aBits: 4, fullPrecision: undefined,
      perChannelWeights: false, ewgsDelta: 0, pactTrainAlpha: true });
    expect(c.method).toBe('sqakd');
    expect(c.teacher).toBe('teacher.ckpt');
    expect(c.phase.model).toEqual({ kind: 'adam', lr: 5e-4, weightDecay: 5e-4 });
    expect(c.phase.quantizer).toEqual({ kind: 'adam', lr: 5e-6, weightDecay: 0 });
    expect([c.phase.epochs, c.phase.batchSize]).toEqual([720, 64]);
    expect(c.settings.alpha).toBe(100);
  });

  it('bits alone choose EWGS; A bits default to W bits; a recipe names the dataset and architecture', () => {
    const c = resolveTrainConfig({ dataset: 'cifar10', arch: 'vgg8', wBits: 2 });
    expect(c.quantization).toMatchObject({ quantizer: 'ewgs', wBits: 2, aBits: 2 });
    const tiny = resolveTrainConfig({ recipe: 'tiny-shufflenetv2', quantizer: 'dorefa', wBits: 8, method: 'sqakd', teacher: 't' });
    expect([tiny.dataset, tiny.arch, tiny.recipe]).toEqual(['tiny-imagenet', 'shufflenetv2', 'tiny-shufflenetv2']);
    expect(tiny.quantization).toMatchObject({ quantizer: 'dorefa', wBits: 8, aBits: 8 });
    expect(tiny.settings.alpha).toBe(800);
    expect(tiny.settings.labelSmoothing).toBe(0.1);
    expect(tiny.phase.quantizer).toBe('model');
    // Mixed widths.
    expect(resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'lsq', wBits: 1, aBits: 3 }).quantization)
      .toMatchObject({ wBits: 1, aBits: 3 });
  });

  it('overrides: --epochs, --batch-size, --lr, --lr-quantizer, --alpha, --gamma, --temperature, --label-smoothing, --seed', () => {
    const c = resolveTrainConfig({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, method: 'kd',
      teacher: 't', epochs: 3, batchSize: 16, lr: 0.01, lrQuantizer: 1e-4, alpha: 5, gamma: 0.5, temperature: 2,
      labelSmoothing: 0.2, seed: 7, perChannelWeights: true, ewgsDelta: 'hessian', fullPrecision: ['conv1'] });
    expect([c.phase.epochs, c.phase.batchSize]).toEqual([3, 16]);
    expect(c.phase.model).toEqual({ kind: 'adam', lr: 0.01, weightDecay: 1e-4 });
    expect(c.phase.quantizer).toEqual({ kind: 'adam', lr: 1e-4, weightDecay: 0 });
    expect(c.settings).toEqual({ alpha: 5, gamma: 0.5, beta: 0, temperature: 2, labelSmoothing: 0.2, labelFree: false,
      preEpochs: 0, options: {} });
    expect(c.seed).toBe(7);
    expect(c.quantization).toMatchObject({ perChannelWeights: true, ewgsDelta: 'hessian', fullPrecision: ['conv1'] });
    // The recipe itself is untouched.
    expect(RECIPES['cifar10-resnet20'].student('ewgs', 2, 2).epochs).toBe(1200);
    // A Tiny recipe's single optimizer takes --lr; --lr-quantizer has nothing to set.
    const tiny = resolveTrainConfig({ dataset: 'tiny-imagenet', arch: 'resnet18', quantizer: 'pact', wBits: 4, lr: 1e-3, lrQuantizer: 1 });
    expect(tiny.phase.model.lr).toBe(1e-3);
    expect(tiny.phase.quantizer).toBe('model');
    expect(resolveTrainConfig({ dataset: 'tiny-imagenet', arch: 'resnet18', quantizer: 'pact', wBits: 4, pactTrainAlpha: false })
      .quantization!.pactTrainAlpha).toBe(false);
  });

  it('a dataset and architecture without a paper recipe get the generic settings', () => {
    const c = resolveTrainConfig({ dataset: 'fashion-mnist', arch: 'resnet20' });
    expect(c.recipe).toBeNull();
    expect(c.phase.epochs).toBe(30);
    expect(c.phase.model.kind).toBe('sgd');
  });

  const errors: Array<[string, TrainRequest, RegExp]> = [
    ['unknown architecture', { dataset: 'cifar10', arch: 'resnet99' },
      /^unknown architecture 'resnet99' \(did you mean 'resnet20'\?\) \(valid: cnn-small, resnet20, resnet32, vgg8, vgg13, resnet18, vgg11bn, mobilenetv2, shufflenetv2, squeezenet\)$/],
    ['unknown quantizer', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ternary' },
      /^unknown quantizer 'ternary' \(valid: ewgs, pact, lsq, dorefa, lsq-paper, or none\)$/],
    ['unknown method', { dataset: 'cifar10', arch: 'resnet20', method: 'fitnet9' }, /^unknown method 'fitnet9' \(did you mean 'fitnet'\?\) \(valid: ce, kd, sqakd, [a-z, ]+\)$/],
    ['unknown dataset', { dataset: 'imagenet', arch: 'resnet20' },
      /^unknown dataset 'imagenet' \(valid: synthetic, mnist, fashion-mnist, cifar10, cifar100, tiny-imagenet, tiny-imagenet-224\)$/],
    ['unknown recipe', { recipe: 'cifar10-resnet56' }, /^unknown recipe 'cifar10-resnet56' \(did you mean 'cifar10-resnet20'\?\) \(valid: cifar10-resnet20, .*tiny-squeezenet.*\)$/],
    ['no dataset', { arch: 'resnet20' }, /^no dataset: pass --dataset/],
    ['weight bits 0', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 0 },
      /^weight bits \(--w-bits\) must be an integer from 1 to 8, got 0$/],
    ['weight bits 9', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'lsq', wBits: 9 },
      /^weight bits \(--w-bits\) must be an integer from 1 to 8, got 9$/],
    ['activation bits 9', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'lsq', wBits: 4, aBits: 9 },
      /^activation bits \(--a-bits\) must be an integer from 1 to 8, got 9$/],
    ['activation bits 0 alone', { dataset: 'cifar10', arch: 'resnet20', aBits: 0 }, /bits \(--[wa]-bits\) must be an integer from 1 to 8, got 0$/],
    ['sqakd without a teacher', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, method: 'sqakd' },
      /^method sqakd distils from a teacher: pass --teacher/],
    ['kd without a teacher', { dataset: 'cifar10', arch: 'resnet20', method: 'kd' }, /^method kd distils from a teacher/],
    ['--w-bits with --quantizer none', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'none', wBits: 2 },
      /^--w-bits\/--a-bits given with --quantizer none; choose a quantizer \(ewgs, pact, lsq, dorefa\)$/],
    ['--ewgs-delta with pact', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'pact', wBits: 2, ewgsDelta: 0.1 },
      /^--ewgs-delta applies to the ewgs quantizer, not pact$/],
    ['--ewgs-delta hessian with lsq', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'lsq', wBits: 2, ewgsDelta: 'hessian' },
      /^--ewgs-delta applies to the ewgs quantizer, not lsq$/],
    ['negative EWGS delta', { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 2, ewgsDelta: -1 }, /^EWGS delta must be >= 0/],
    ['--epochs 0', { dataset: 'cifar10', arch: 'resnet20', epochs: 0 }, /^--epochs must be a positive integer, got 0$/],
    ['--lr -1', { dataset: 'cifar10', arch: 'resnet20', lr: -1 }, /^--lr must be a positive number, got -1$/],
    ['--seed 1.5', { dataset: 'cifar10', arch: 'resnet20', seed: 1.5 }, /^--seed must be a non-negative integer, got 1\.5$/],
  ];
  for (const [what, request, pattern] of errors) {
    it(`${what}: a one-line error`, () => {
      const message = errorOf(request);
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    });
  }

  it('the valid cases next to those errors resolve', () => {
    expect(errorOf({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', wBits: 8, ewgsDelta: 0.2 })).toBe('');
    expect(errorOf({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'pact', wBits: 1, ewgsDelta: 0 })).toBe('');
    expect(errorOf({ dataset: 'cifar10', arch: 'resnet20', quantizer: 'none' })).toBe('');
    expect(errorOf({ dataset: 'cifar10', arch: 'resnet20', method: 'sqakd', teacher: 't' })).toBe('');
  });
});
