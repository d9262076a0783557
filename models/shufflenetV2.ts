// ShuffleNet-V2 x0.5 in torchvision's layout (SPEC section 5): conv3x3 stride 2 in->24 + BN + ReLU and a 3x3
// stride-2 max-pool (padding 1); stages 2-4 of 4 / 8 / 4 units with 48 / 96 / 192 channels; conv1x1 192->1024 + BN +
// ReLU; global average pool; linear. Convs have no bias; like torchvision, nothing is re-initialised, so every layer
// keeps PyTorch's default init. The stem conv and the classifier stay in full precision when quantized.
import * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, MaxPool2d, Module, ReLU, Sequential } from './nn/index.ts';

const STEM_CHANNELS = 24;
const STAGE_CHANNELS = [48, 96, 192];
const STAGE_REPEATS = [4, 8, 4];
const LAST_CHANNELS = 1024;
const STAGES = ['stage2', 'stage3', 'stage4'];

function conv1x1(inChannels: number, outChannels: number): Conv2d {
  return new Conv2d(inChannels, outChannels, 1, { init: 'torch-default' });
}

function depthwise3x3(channels: number, stride: number): Conv2d {
  return new Conv2d(channels, channels, 3, { stride, padding: 1, groups: channels, init: 'torch-default' });
}

/**
 * Interleaves the channels of two groups: NCHW's view(n, 2, c/2, h, w).transpose(1, 2) done on the channel axis of
 * NHWC, so output channel 2i + g is input channel g * c/2 + i.
 */
export function channelShuffle(x: tf.Tensor, groups = 2): tf.Tensor {
  const [n, h, w, c] = x.shape;
  return x.reshape([n, h, w, groups, c / groups]).transpose([0, 1, 2, 4, 3]).reshape([n, h, w, c]);
}

/**
 * A ShuffleNet-V2 unit. Stride 1: half the channels pass through, the other half go through branch2. Stride 2:
 * both branches see the whole input and halve the resolution, doubling the channels by concatenation.
 */
class ShuffleUnit extends Module {
  private readonly stride: number;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    const branch = outChannels / 2;
    this.stride = stride;
    if (stride > 1) {
      this.registerModule('branch1', new Sequential(
        depthwise3x3(inChannels, stride), new BatchNorm2d(inChannels),
        conv1x1(inChannels, branch), new BatchNorm2d(branch), new ReLU(),
      ));
    }
    this.registerModule('branch2', new Sequential(
      conv1x1(stride > 1 ? inChannels : branch, branch), new BatchNorm2d(branch), new ReLU(),
      depthwise3x3(branch, stride), new BatchNorm2d(branch),
      conv1x1(branch, branch), new BatchNorm2d(branch), new ReLU(),
    ));
  }

  forward(x: tf.Tensor): tf.Tensor {
    let out: tf.Tensor;
    if (this.stride === 1) {
      const [kept, processed] = tf.split(x, 2, 3);
      out = tf.concat([kept, this.child('branch2').forward(processed)], 3);
    } else {
      out = tf.concat([this.child('branch1').forward(x), this.child('branch2').forward(x)], 3);
    }
    return channelShuffle(out);
  }
}

export class ShuffleNetV2 extends Classifier {
  readonly tapNames = ['stem', ...STAGES, 'conv5', 'pooled'];
  readonly fullPrecisionLayers = ['conv1.0', 'fc'];
  readonly classifierLayers = ['fc'];
  private readonly maxPool = new MaxPool2d(3, 2, 1);
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    this.registerModule('conv1', new Sequential(
      new Conv2d(inChannels, STEM_CHANNELS, 3, { stride: 2, padding: 1, init: 'torch-default' }),
      new BatchNorm2d(STEM_CHANNELS), new ReLU(),
    ));
    let channels = STEM_CHANNELS;
    STAGES.forEach((name, s) => {
      const out = STAGE_CHANNELS[s];
      const units = Array.from({ length: STAGE_REPEATS[s] }, (_, i) => new ShuffleUnit(i === 0 ? channels : out, out, i === 0 ? 2 : 1));
      this.registerModule(name, new Sequential(...units));
      channels = out;
    });
    this.registerModule('conv5', new Sequential(conv1x1(channels, LAST_CHANNELS), new BatchNorm2d(LAST_CHANNELS), new ReLU()));
    this.registerModule('fc', new Linear(LAST_CHANNELS, classes));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    // The stem tap is the max-pool's output, the input of stage 2.
    const features: tf.Tensor[] = [this.maxPool.forward(this.child('conv1').forward(x))];
    for (const name of [...STAGES, 'conv5']) features.push(this.child(name).forward(features.at(-1)!));
    const pooled = this.pool.forward(features.at(-1)!);
    features.push(pooled);
    return { logits: this.child('fc').forward(pooled) as tf.Tensor2D, features };
  }
}
