// The architectures by name. Adding one means a file in models/ and a line here.
import { didYouMean } from '../engine/didYouMean.ts';
import type { ArchitectureOptions, Classifier } from './classifier.ts';
import { CnnSmall } from './cnnSmall.ts';
import { MobileNetV2 } from './mobilenetV2.ts';
import { initializeParameters } from './nn/index.ts';
import { ResNetCifar } from './resnetCifar.ts';
import { ResNetImagenet } from './resnetImagenet.ts';
import { ShuffleNetV2 } from './shufflenetV2.ts';
import { SqueezeNet } from './squeezenet.ts';
import { VggCifar } from './vggCifar.ts';
import { VggImagenet } from './vggImagenet.ts';

export interface ArchitectureSpec {
  description: string;
  build(options: ArchitectureOptions): Classifier;
}

export const ARCHITECTURES: Record<string, ArchitectureSpec> = {
  'cnn-small': { description: 'compact 4-conv CNN for MNIST-sized inputs', build: (o) => new CnnSmall(o) },
  resnet20: { description: 'CIFAR ResNet-20 (option-A shortcuts, BatchNorm1d head)', build: (o) => new ResNetCifar(20, o) },
  resnet32: { description: 'CIFAR ResNet-32 (option-A shortcuts, BatchNorm1d head)', build: (o) => new ResNetCifar(32, o) },
  vgg8: { description: 'CIFAR VGG-8 with batch norm', build: (o) => new VggCifar(8, o) },
  vgg13: { description: 'CIFAR VGG-13 with batch norm', build: (o) => new VggCifar(13, o) },
  resnet18: { description: 'ResNet-18 (torchvision layout: 7x7 stem + max-pool)', build: (o) => new ResNetImagenet(o) },
  vgg11bn: { description: 'VGG-11 with batch norm, 4 max-pools, global pool, one linear', build: (o) => new VggImagenet(o) },
  mobilenetv2: { description: 'MobileNet-V2 width 1.0 (last channel 1280, dropout 0.2)', build: (o) => new MobileNetV2(o) },
  shufflenetv2: { description: 'ShuffleNet-V2 x0.5', build: (o) => new ShuffleNetV2(o) },
  squeezenet: { description: 'SqueezeNet 1.0', build: (o) => new SqueezeNet(o) },
};

export function architectureNames(): string[] {
  return Object.keys(ARCHITECTURES);
}

/** An architecture by name; an unknown name is an error listing the valid ones. */
export function architectureSpec(name: string): ArchitectureSpec {
  const spec = Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name] : undefined;
  const valid = architectureNames();
  if (!spec) throw new Error(`unknown architecture '${name}'${didYouMean(name, valid)} (valid: ${valid.join(', ')})`);
  return spec;
}

/** Builds an architecture with weights drawn from `seed`; an unknown name is an error listing the valid ones. */
export function createModel(name: string, options: ArchitectureOptions & { seed: number }): Classifier {
  const model = architectureSpec(name).build(options);
  initializeParameters(model, options.seed);
  return model;
}
