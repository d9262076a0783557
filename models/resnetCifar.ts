// CIFAR ResNet-20 / ResNet-32 (SPEC section 5): 3x3 conv in->16 + BN + ReLU; three stages of 16/32/64 channels
// with n basic blocks each (n = 3 or 5); shortcut "option A" (stride-2 subsample and zero-padded channels, no
// parameters); global average pool; BatchNorm1d(64); linear. Kaiming-normal init. The stem conv, the final
// BatchNorm1d and the classifier stay in full precision when quantized.
import * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm1d, BatchNorm2d, Conv2d, GlobalAvgPool, Linear, Module, Sequential } from './nn/index.ts';

class BasicBlock extends Module {
  private readonly padChannels: number;
  private readonly stride: number;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.registerModule('conv1', new Conv2d(inChannels, outChannels, 3, { stride, padding: 1 }));
    this.registerModule('bn1', new BatchNorm2d(outChannels));
    this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1 }));
    this.registerModule('bn2', new BatchNorm2d(outChannels));
    this.padChannels = outChannels - inChannels;
    this.stride = stride;
  }

  forward(x: tf.Tensor): tf.Tensor {
    const h = tf.relu(this.child('bn1').forward(this.child('conv1').forward(x)));
    const y = this.child('bn2').forward(this.child('conv2').forward(h));
    return tf.relu(y.add(this.shortcut(x)));
  }

  /** Option A: keep every other pixel and zero-pad the new channels, half on each side. */
  private shortcut(x: tf.Tensor): tf.Tensor {
    if (this.stride === 1 && this.padChannels === 0) return x;
    // x[:, ::s, ::s] as a 1x1 average pool with stride s: the same pixels, and unlike stridedSlice it has a
    // gradient in tfjs.
    const sub = this.stride === 1 ? x : tf.avgPool(x as tf.Tensor4D, 1, this.stride, 'valid');
    const half = this.padChannels / 2;
    return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [Math.floor(half), Math.ceil(half)]]);
  }
}

function stage(inChannels: number, outChannels: number, blocks: number, stride: number): Sequential {
  return new Sequential(...Array.from({ length: blocks }, (_, i) =>
    new BasicBlock(i === 0 ? inChannels : outChannels, outChannels, i === 0 ? stride : 1)));
}

const STAGES = ['layer1', 'layer2', 'layer3'];

export class ResNetCifar extends Classifier {
  readonly tapNames = ['stem', 'stage1', 'stage2', 'stage3', 'pooled'];
  readonly fullPrecisionLayers = ['conv1', 'bnFinal', 'fc'];
  readonly classifierLayers = ['bnFinal', 'fc'];
  private readonly pool = new GlobalAvgPool();

  constructor(depth: 20 | 32, { classes, inChannels }: ArchitectureOptions) {
    super();
    const blocks = (depth - 2) / 6;
    this.registerModule('conv1', new Conv2d(inChannels, 16, 3, { padding: 1 }));
    this.registerModule('bn1', new BatchNorm2d(16));
    this.registerModule('layer1', stage(16, 16, blocks, 1));
    this.registerModule('layer2', stage(16, 32, blocks, 2));
    this.registerModule('layer3', stage(32, 64, blocks, 2));
    this.registerModule('bnFinal', new BatchNorm1d(64));
    this.registerModule('fc', new Linear(64, classes, { init: 'kaiming-fan-in' }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const stem = tf.relu(this.child('bn1').forward(this.child('conv1').forward(x)));
    const features: tf.Tensor[] = [stem];
    for (const name of STAGES) features.push(this.child(name).forward(features.at(-1)!));
    const pooled = this.pool.forward(features.at(-1)!);
    features.push(pooled);
    return { logits: this.child('fc').forward(this.child('bnFinal').forward(pooled)) as tf.Tensor2D, features };
  }
}
