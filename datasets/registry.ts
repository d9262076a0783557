// The datasets the suite knows: how each is loaded, the size the model sees, its normalisation constants and the
// augmentation its training loader applies (SPEC sections 4-5).
import { didYouMean } from '../engine/didYouMean.ts';
import type { Augmentation } from './augmentation.ts';
import { loadCifar10, loadCifar100 } from './cifar.ts';
import type { ImageSet, Split } from './imageSet.ts';
import { loadMnist } from './mnist.ts';
import { loadSynthetic, SYNTHETIC_MEAN, SYNTHETIC_STD } from './synthetic.ts';
import { loadTinyImagenet, TINY_IMAGENET_FOLDER } from './tinyImagenet.ts';

export type { Augmentation } from './augmentation.ts';

export interface DatasetSpec {
  name: string;
  description: string;
  /** The size the model sees (the loader resizes when the stored images differ, e.g. Tiny-ImageNet at 224). */
  classes: number;
  channels: number;
  height: number;
  width: number;
  /** Per channel, applied to pixels scaled to [0, 1]. */
  mean: number[];
  std: number[];
  /** What the training loader applies; the test split is never augmented. */
  augmentation: Augmentation;
  /** The folder under the data directory that holds the files; null for the built-in set. */
  folder: string | null;
  /** Images in the standard training and test splits (for cost estimates before anything is loaded). */
  splitSizes: { train: number; test: number };
  /** Loads a split; throws a one-line error naming the missing or corrupt file or folder. */
  load(dataDir: string, split: Split): ImageSet;
}

const CIFAR_AUGMENTATION: Augmentation = { kind: 'crop-flip', padding: 4, flip: true };
// ImageNet's statistics, as the public Tiny-ImageNet code uses.
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const TINY_CLASSES = 200;

function spec(s: DatasetSpec): DatasetSpec {
  return s;
}

export const DATASETS: Record<string, DatasetSpec> = {
  synthetic: spec({
    name: 'synthetic',
    description: 'built-in 32x32 RGB, 10 classes of noisy shifted colour patterns (5,000 train / 1,000 test); no files',
    classes: 10, channels: 3, height: 32, width: 32,
    mean: SYNTHETIC_MEAN, std: SYNTHETIC_STD,
    // The CIFAR recipe, so that smoke runs exercise the same pipeline as CIFAR-10.
    augmentation: CIFAR_AUGMENTATION,
    folder: null,
    splitSizes: { train: 5000, test: 1000 },
    load: (_dataDir, split) => loadSynthetic(split),
  }),
  mnist: spec({
    name: 'mnist',
    description: 'MNIST handwritten digits, 28x28 gray (60,000 / 10,000)',
    classes: 10, channels: 1, height: 28, width: 28,
    mean: [0.1307], std: [0.3081],
    augmentation: { kind: 'none' },
    folder: 'mnist',
    splitSizes: { train: 60000, test: 10000 },
    load: (dataDir, split) => loadMnist(dataDir, split, 'mnist'),
  }),
  'fashion-mnist': spec({
    name: 'fashion-mnist',
    description: 'Fashion-MNIST clothing images, 28x28 gray (60,000 / 10,000)',
    classes: 10, channels: 1, height: 28, width: 28,
    // The commonly used statistics of the Fashion-MNIST train set.
    mean: [0.286], std: [0.353],
    augmentation: { kind: 'none' },
    folder: 'fashion-mnist',
    splitSizes: { train: 60000, test: 10000 },
    load: (dataDir, split) => loadMnist(dataDir, split, 'fashion-mnist'),
  }),
  cifar10: spec({
    name: 'cifar10',
    description: 'CIFAR-10, 32x32 RGB, 10 classes (50,000 / 10,000), binary version',
    classes: 10, channels: 3, height: 32, width: 32,
    mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201],
    augmentation: CIFAR_AUGMENTATION,
    folder: 'cifar-10-batches-bin',
    splitSizes: { train: 50000, test: 10000 },
    load: loadCifar10,
  }),
  cifar100: spec({
    name: 'cifar100',
    description: 'CIFAR-100, 32x32 RGB, 100 fine classes (50,000 / 10,000), binary version',
    classes: 100, channels: 3, height: 32, width: 32,
    mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761],
    augmentation: CIFAR_AUGMENTATION,
    folder: 'cifar-100-binary',
    splitSizes: { train: 50000, test: 10000 },
    load: loadCifar100,
  }),
  'tiny-imagenet': spec({
    name: 'tiny-imagenet',
    description: 'Tiny-ImageNet at its native 64x64, 200 classes (100,000 / 10,000 validation); the fast default',
    classes: TINY_CLASSES, channels: 3, height: 64, width: 64,
    mean: IMAGENET_MEAN, std: IMAGENET_STD,
    augmentation: { kind: 'crop-flip', padding: 4, flip: true },
    folder: TINY_IMAGENET_FOLDER,
    splitSizes: { train: 100000, test: 10000 },
    load: (dataDir, split) => loadTinyImagenet(dataDir, split, { expectClasses: TINY_CLASSES }),
  }),
  'tiny-imagenet-224': spec({
    name: 'tiny-imagenet-224',
    description: 'Tiny-ImageNet upsampled to 224 (fidelity mode): random-resized-crop + flip + colour jitter; ' +
      'test images resized to 224',
    classes: TINY_CLASSES, channels: 3, height: 224, width: 224,
    mean: IMAGENET_MEAN, std: IMAGENET_STD,
    augmentation: {
      kind: 'random-resized-crop', scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true,
      jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 },
    },
    folder: TINY_IMAGENET_FOLDER,
    splitSizes: { train: 100000, test: 10000 },
    load: (dataDir, split) => loadTinyImagenet(dataDir, split, { expectClasses: TINY_CLASSES }),
  }),
};

/** The spec of a dataset by name; an unknown name is an error listing the valid ones. */
export function datasetSpec(name: string): DatasetSpec {
  const found = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (!found) throw new Error(`unknown dataset '${name}'${didYouMean(name, Object.keys(DATASETS))} (valid: ${Object.keys(DATASETS).join(', ')})`);
  return found;
}
