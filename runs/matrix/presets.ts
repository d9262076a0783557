// Named matrices: a smoke test on the built-in synthetic set, a quick MNIST matrix, and one preset per table of the
// paper (SPEC section 4) with the paper's recipes. Each is a raw spec, validated like a user's file.
import { METHODS } from '../../methods/registry.ts';

// Table 7's methods come from the registry, so a method added there joins the table without an edit here; the
// label-free column holds those whose entry says a label-free variant exists (not FSP, whose loss only shapes its
// pre-stage).
const FEATURE_METHODS = Object.values(METHODS).filter((m) => m.kind === 'feature');
const FEATURE_METHOD_NAMES = FEATURE_METHODS.map((m) => m.name);
const LABEL_FREE_METHODS = FEATURE_METHODS.filter((m) => m.labelFree.possible).map((m) => `${m.name}:label-free`);
const TINY_QUANTIZERS = ['pact', 'lsq', 'dorefa'];

export const PRESETS: Record<string, { description: string; spec: Record<string, unknown> }> = {
  smoke: {
    description: 'the built-in synthetic set, cnn-small, EWGS W2A2: CE, KD, SQAKD and AT with and without labels ' +
      '(a teacher and 5 students, a few minutes on a 2-core CPU)',
    spec: {
      grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'],
        method: ['ce', 'kd', 'sqakd', 'at', 'at:label-free'] },
      epochs: 2, teacherEpochs: 3,
    },
  },
  mnist: {
    description: 'MNIST cnn-small, EWGS W2A2 and W4A4: CE, KD and SQAKD (2 epochs each)',
    spec: { grid: { dataset: 'mnist', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2', 'W4A4'], method: ['ce', 'kd', 'sqakd'] } },
  },
  'table4-cifar10': {
    description: 'Table 4, CIFAR-10: EWGS vs EWGS + SQAKD; ResNet-20 at W1A1/W2A2/W4A4, VGG-8 at W2A2',
    spec: {
      grids: [
        { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', bits: ['W1A1', 'W2A2', 'W4A4'], method: ['ce', 'sqakd'] },
        { dataset: 'cifar10', arch: 'vgg8', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] },
      ],
    },
  },
  'table4-cifar100': {
    description: 'Table 4, CIFAR-100: EWGS vs EWGS + SQAKD; ResNet-32 and VGG-13 at W1A1/W2A2/W4A4',
    spec: {
      grid: { dataset: 'cifar100', arch: ['resnet32', 'vgg13'], quantizer: 'ewgs', bits: ['W1A1', 'W2A2', 'W4A4'], method: ['ce', 'sqakd'] },
    },
  },
  'table5-tiny': {
    description: 'Table 5, Tiny-ImageNet: PACT, LSQ, DoReFa with and without SQAKD; ResNet-18, VGG-11-bn, ' +
      'MobileNet-V2 at W3A3/W4A4/W8A8',
    spec: {
      grid: { dataset: 'tiny-imagenet', arch: ['resnet18', 'vgg11bn', 'mobilenetv2'], quantizer: TINY_QUANTIZERS,
        bits: ['W3A3', 'W4A4', 'W8A8'], method: ['ce', 'sqakd'] },
    },
  },
  'table6-tiny': {
    description: 'Table 6, Tiny-ImageNet: PACT, LSQ, DoReFa with and without SQAKD; ShuffleNet-V2 x0.5 and ' +
      'SqueezeNet 1.0 at W4A4/W8A8',
    spec: {
      grid: { dataset: 'tiny-imagenet', arch: ['shufflenetv2', 'squeezenet'], quantizer: TINY_QUANTIZERS,
        bits: ['W4A4', 'W8A8'], method: ['ce', 'sqakd'] },
    },
  },
  table7: {
    description: 'Table 7: the 11 KD methods with CE and label-free, CE, KD and SQAKD; CIFAR-10 ResNet-20 W2A2 and ' +
      'CIFAR-100 VGG-13 W1A1, EWGS',
    spec: {
      grids: [
        { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', bits: ['W2A2'],
          method: ['ce', 'kd', 'sqakd', ...FEATURE_METHOD_NAMES, ...LABEL_FREE_METHODS] },
        { dataset: 'cifar100', arch: 'vgg13', quantizer: 'ewgs', bits: ['W1A1'],
          method: ['ce', 'kd', 'sqakd', ...FEATURE_METHOD_NAMES, ...LABEL_FREE_METHODS] },
      ],
    },
  },
};

/** A preset's raw spec by name; an unknown name is an error listing the valid ones. */
export function presetSpec(name: string): Record<string, unknown> {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) throw new Error(`unknown preset '${name}' (valid: ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(preset.spec);
}
