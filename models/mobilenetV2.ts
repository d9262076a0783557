// MobileNet-V2, width 1.0, in torchvision's layout (SPEC section 5): conv3x3 stride 2 in->32 + BN + ReLU6; inverted
// residual blocks from the (expand t, channels c, repeats n, first stride s) table; conv1x1 320->1280 + BN + ReLU6;
// global average pool; Dropout(0.2); linear 1280 -> classes. Convs have no bias and are Kaiming-normal over fan-out,
// the linear layer N(0, 0.01) with zero bias. The stem conv and the classifier stay in full precision when quantized.
// The block rows are grouped into four stages by output resolution (1/4, 1/8, 1/16, 1/32 of the input), so the
// feature taps line up with ResNet-18's.
import type * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { BatchNorm2d, Conv2d, Dropout, GlobalAvgPool, Linear, Module, ReLU6, Sequential } from './nn/index.ts';

/** One row of the MobileNet-V2 table: expand ratio, output channels, repeats, stride of the first block. */
type BlockRow = [t: number, c: number, n: number, s: number];

/** The table's rows by stage: stage1 ends at 1/4 resolution, stage2 at 1/8, stage3 at 1/16, stage4 at 1/32. */
const STAGE_ROWS: BlockRow[][] = [
  [[1, 16, 1, 1], [6, 24, 2, 2]],
  [[6, 32, 3, 2]],
  [[6, 64, 4, 2], [6, 96, 3, 1]],
  [[6, 160, 3, 2], [6, 320, 1, 1]],
];
const STAGES = ['stage1', 'stage2', 'stage3', 'stage4'];
const STEM_CHANNELS = 32;
const LAST_CHANNELS = 1280;

/** Conv (no bias) + BN + ReLU6; depthwise when asked. */
function convBnRelu6(inChannels: number, outChannels: number, kernelSize: number, stride = 1, depthwise = false): Module[] {
  return [
    new Conv2d(inChannels, outChannels, kernelSize,
      { stride, padding: (kernelSize - 1) / 2, groups: depthwise ? inChannels : 1, init: 'kaiming-fan-out' }),
    new BatchNorm2d(outChannels),
    new ReLU6(),
  ];
}

class InvertedResidual extends Module {
  private readonly residual: boolean;

  constructor(inChannels: number, outChannels: number, stride: number, expandRatio: number) {
    super();
    const hidden = inChannels * expandRatio;
    // No expansion conv when t = 1; the projection back to outChannels is linear (no activation).
    this.registerModule('conv', new Sequential(
      ...(expandRatio === 1 ? [] : convBnRelu6(inChannels, hidden, 1)),
      ...convBnRelu6(hidden, hidden, 3, stride, true),
      new Conv2d(hidden, outChannels, 1, { init: 'kaiming-fan-out' }),
      new BatchNorm2d(outChannels),
    ));
    this.residual = stride === 1 && inChannels === outChannels;
  }

  forward(x: tf.Tensor): tf.Tensor {
    const y = this.child('conv').forward(x);
    return this.residual ? y.add(x) : y;
  }
}

export class MobileNetV2 extends Classifier {
  readonly tapNames = ['stem', ...STAGES, 'head', 'pooled'];
  readonly fullPrecisionLayers = ['stem.0', 'classifier'];
  readonly classifierLayers = ['classifier'];
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    this.registerModule('stem', new Sequential(...convBnRelu6(inChannels, STEM_CHANNELS, 3, 2)));
    let channels = STEM_CHANNELS;
    STAGE_ROWS.forEach((rows, s) => {
      const blocks = rows.flatMap(([t, c, n, stride]) => Array.from({ length: n }, (_, i) => {
        const block = new InvertedResidual(channels, c, i === 0 ? stride : 1, t);
        channels = c;
        return block;
      }));
      this.registerModule(STAGES[s], new Sequential(...blocks));
    });
    this.registerModule('head', new Sequential(...convBnRelu6(channels, LAST_CHANNELS, 1)));
    this.registerModule('dropout', new Dropout(0.2, 'mobilenetv2.dropout'));
    this.registerModule('classifier', new Linear(LAST_CHANNELS, classes, { init: 'normal-0.01' }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const features: tf.Tensor[] = [this.child('stem').forward(x)];
    for (const name of [...STAGES, 'head']) features.push(this.child(name).forward(features.at(-1)!));
    const pooled = this.pool.forward(features.at(-1)!);
    features.push(pooled);
    const logits = this.child('classifier').forward(this.child('dropout').forward(pooled)) as tf.Tensor2D;
    return { logits, features };
  }
}
