// cnn-small: a compact CNN for quick runs on MNIST-sized inputs (any size works: it ends in global pooling).
// stem: conv3x3(in->16)-BN-ReLU, maxpool; stage1: conv3x3(16->32)-BN-ReLU, maxpool; stage2: conv3x3(32->64)-BN-ReLU,
// conv3x3(64->64)-BN-ReLU; global average pool; linear. Pooling early keeps it to ~3.7M multiply-adds per 28x28
// image, so MNIST epochs take seconds. The stem conv and the classifier stay in full precision when quantized.
import type * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, MaxPool2d, ReLU, Sequential } from './nn/index.ts';

function convBnRelu(inChannels: number, outChannels: number): Module[] {
  return [new Conv2d(inChannels, outChannels, 3, { padding: 1 }), new BatchNorm2d(outChannels), new ReLU()];
}

type Module = Conv2d | BatchNorm2d | ReLU | MaxPool2d;

export class CnnSmall extends Classifier {
  readonly tapNames = ['stem', 'stage1', 'stage2', 'pooled'];
  readonly fullPrecisionLayers = ['stem.0', 'fc'];
  readonly classifierLayers = ['fc'];
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    this.registerModule('stem', new Sequential(...convBnRelu(inChannels, 16), new MaxPool2d(2)));
    this.registerModule('stage1', new Sequential(...convBnRelu(16, 32), new MaxPool2d(2)));
    this.registerModule('stage2', new Sequential(...convBnRelu(32, 64), ...convBnRelu(64, 64)));
    this.registerModule('fc', new Linear(64, classes));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const stem = this.child('stem').forward(x);
    const stage1 = this.child('stage1').forward(stem);
    const stage2 = this.child('stage2').forward(stage1);
    const pooled = this.pool.forward(stage2);
    return { logits: this.child('fc').forward(pooled) as tf.Tensor2D, features: [stem, stage1, stage2, pooled] };
  }
}
