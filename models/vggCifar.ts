// CIFAR VGG-8 / VGG-13 with batch norm (SPEC section 5): stages of 64/128/256/512/512 channels, one (VGG-8) or two
// (VGG-13) conv3x3 (with bias) + BN + ReLU each; max-pool after stages 0, 1 and 2; global average pool; one linear
// layer 512 -> classes. The whole first stage and the classifier stay in full precision when quantized.
import type * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, MaxPool2d, ReLU, Sequential } from './nn/index.ts';

const STAGE_CHANNELS = [64, 128, 256, 512, 512];
const POOLED_STAGES = 3;

export class VggCifar extends Classifier {
  readonly tapNames = ['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'pooled'];
  readonly fullPrecisionLayers = ['stage0', 'classifier'];
  readonly classifierLayers = ['classifier'];
  private readonly pools: MaxPool2d[] = [];
  private readonly pool = new GlobalAvgPool();

  constructor(depth: 8 | 13, { classes, inChannels }: ArchitectureOptions) {
    super();
    const convsPerStage = depth === 8 ? 1 : 2;
    let channels = inChannels;
    STAGE_CHANNELS.forEach((out, s) => {
      const layers = [];
      for (let i = 0; i < convsPerStage; i++) {
        layers.push(new Conv2d(channels, out, 3, { padding: 1, bias: true, init: 'kaiming-fan-out' }), new BatchNorm2d(out), new ReLU());
        channels = out;
      }
      this.registerModule(`stage${s}`, new Sequential(...layers));
      if (s < POOLED_STAGES) this.pools.push(new MaxPool2d(2));
    });
    this.registerModule('classifier', new Linear(512, classes, { init: 'normal-0.01' }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const features: tf.Tensor[] = [];
    let h = x;
    STAGE_CHANNELS.forEach((_, i) => {
      const out = this.child(`stage${i}`).forward(h);
      features.push(out);
      h = i < this.pools.length ? this.pools[i].forward(out) : out;
    });
    const pooled = this.pool.forward(h);
    features.push(pooled);
    return { logits: this.child('classifier').forward(pooled) as tf.Tensor2D, features };
  }
}
