// ResNet-18 in torchvision's layout (SPEC section 5, Tiny-ImageNet): 7x7 stride-2 conv in->64 + BN + ReLU and a
// 3x3 stride-2 max-pool (padding 1); four stages of two basic blocks with 64/128/256/512 channels, stride 2 at the
// start of stages 2-4, where a 1x1 conv + BN projects the shortcut; global average pool; linear. Convs are
// Kaiming-normal over fan-out, the linear layer PyTorch's default. The stem conv and the classifier stay in full
// precision when quantized. Ends in global pooling, so any input size works.
import * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, MaxPool2d, Module, Sequential } from './nn/index.ts';

const STAGE_CHANNELS = [64, 128, 256, 512];
const BLOCKS_PER_STAGE = 2;

function conv(inChannels: number, outChannels: number, kernelSize: number, stride: number): Conv2d {
  return new Conv2d(inChannels, outChannels, kernelSize,
    { stride, padding: (kernelSize - 1) / 2, init: 'kaiming-fan-out' });
}

class BasicBlock extends Module {
  /** Whether the shortcut is projected: a flag, not a reference, so a quantized swap of its conv is picked up. */
  private readonly projected: boolean;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.registerModule('conv1', conv(inChannels, outChannels, 3, stride));
    this.registerModule('bn1', new BatchNorm2d(outChannels));
    this.registerModule('conv2', conv(outChannels, outChannels, 3, 1));
    this.registerModule('bn2', new BatchNorm2d(outChannels));
    this.projected = stride !== 1 || inChannels !== outChannels;
    if (this.projected) {
      this.registerModule('downsample', new Sequential(conv(inChannels, outChannels, 1, stride), new BatchNorm2d(outChannels)));
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    const h = tf.relu(this.child('bn1').forward(this.child('conv1').forward(x)));
    const y = this.child('bn2').forward(this.child('conv2').forward(h));
    const shortcut = this.projected ? this.child('downsample').forward(x) : x;
    return tf.relu(y.add(shortcut));
  }
}

const STAGES = ['layer1', 'layer2', 'layer3', 'layer4'];

export class ResNetImagenet extends Classifier {
  readonly tapNames = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'pooled'];
  readonly fullPrecisionLayers = ['conv1', 'fc'];
  readonly classifierLayers = ['fc'];
  private readonly maxPool = new MaxPool2d(3, 2, 1);
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    this.registerModule('conv1', conv(inChannels, 64, 7, 2));
    this.registerModule('bn1', new BatchNorm2d(64));
    let channels = 64;
    STAGE_CHANNELS.forEach((out, s) => {
      const blocks = Array.from({ length: BLOCKS_PER_STAGE }, (_, i) =>
        new BasicBlock(i === 0 ? channels : out, out, i === 0 && s > 0 ? 2 : 1));
      this.registerModule(STAGES[s], new Sequential(...blocks));
      channels = out;
    });
    this.registerModule('fc', new Linear(512, classes));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    // The stem tap is the max-pool's output, the input of stage 1 (as in the CIFAR ResNets).
    const stem = this.maxPool.forward(tf.relu(this.child('bn1').forward(this.child('conv1').forward(x))));
    const features: tf.Tensor[] = [stem];
    for (const name of STAGES) features.push(this.child(name).forward(features.at(-1)!));
    const pooled = this.pool.forward(features.at(-1)!);
    features.push(pooled);
    return { logits: this.child('fc').forward(pooled) as tf.Tensor2D, features };
  }
}
