// VGG-11 with batch norm for Tiny-ImageNet (SPEC section 5): torchvision's VGG-11 conv configuration, grouped into
// stages of 64 / 128 / 256,256 / 512,512 / 512,512 channels, each conv3x3 (with bias) + BN + ReLU; a 2x2 max-pool
// after stages 0-3 only (four, not torchvision's five, as SPEC has it: 64 px inputs end at 4x4, not 2x2); global pool;
// one linear layer 512 -> classes in place of torchvision's three-layer head. Convs Kaiming-normal over fan-out,
// the linear layer N(0, 0.01), biases zero. The first conv and the classifier stay in full precision when quantized.
import type * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, MaxPool2d, ReLU, Sequential } from './nn/index.ts';

const STAGES = [[64], [128], [256, 256], [512, 512], [512, 512]];
const POOLED_STAGES = 4;

export class VggImagenet extends Classifier {
  readonly tapNames = ['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'pooled'];
  readonly fullPrecisionLayers = ['stage0.0', 'classifier'];
  readonly classifierLayers = ['classifier'];
  private readonly maxPool = new MaxPool2d(2);
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    let channels = inChannels;
    STAGES.forEach((convs, s) => {
      const layers = convs.flatMap((out) => {
        const block = [new Conv2d(channels, out, 3, { padding: 1, bias: true, init: 'kaiming-fan-out' }), new BatchNorm2d(out), new ReLU()];
        channels = out;
        return block;
      });
      this.registerModule(`stage${s}`, new Sequential(...layers));
    });
    this.registerModule('classifier', new Linear(512, classes, { init: 'normal-0.01' }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const features: tf.Tensor[] = [];
    let h = x;
    STAGES.forEach((_, s) => {
      const out = this.child(`stage${s}`).forward(h);
      features.push(out);
      h = s < POOLED_STAGES ? this.maxPool.forward(out) : out;
    });
    const pooled = this.pool.forward(h);
    features.push(pooled);
    return { logits: this.child('classifier').forward(pooled) as tf.Tensor2D, features };
  }
}
