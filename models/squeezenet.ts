// SqueezeNet 1.0 in torchvision's layout (SPEC section 5): conv7x7 stride 2 in->96 + ReLU; 3x3 stride-2 max-pools
// with ceil mode before fire2, fire5 and fire9; Fire modules fire2..fire9 (squeeze 1x1 + ReLU, then expand 1x1 and
// expand 3x3, each + ReLU, concatenated); Dropout(0.5); conv1x1 512 -> classes + ReLU; global average pool gives
// the logits. Convs have bias (zero-initialised); Kaiming over fan-in for the features (normal where torchvision
// draws uniform: same variance, and this is the scheme the layers offer), N(0, 0.01) for the final conv. The first
// conv and the final conv (the classifier) stay in full precision when quantized.
import * as tf from '@tensorflow/tfjs-core';

import { type ArchitectureOptions, Classifier, type ClassifierOutput } from './classifier.ts';
import { Conv2d, Dropout, GlobalAvgPool, MaxPool2d, Module, Sequential } from './nn/index.ts';

/** Squeeze, expand 1x1 and expand 3x3 channels of a Fire module. */
type FireChannels = [squeeze: number, expand1x1: number, expand3x3: number];

/** fire2..fire9 by stage: the stages are separated by the max-pools (1/4, 1/8 and 1/16 of the input). */
const STAGE_FIRES: FireChannels[][] = [
  [[16, 64, 64], [16, 64, 64], [32, 128, 128]],
  [[32, 128, 128], [48, 192, 192], [48, 192, 192], [64, 256, 256]],
  [[64, 256, 256]],
];
const STAGES = ['stage1', 'stage2', 'stage3'];
const STEM_CHANNELS = 96;

class Fire extends Module {
  constructor(inChannels: number, [squeeze, expand1x1, expand3x3]: FireChannels) {
    super();
    this.registerModule('squeeze', new Conv2d(inChannels, squeeze, 1, { bias: true }));
    this.registerModule('expand1x1', new Conv2d(squeeze, expand1x1, 1, { bias: true }));
    this.registerModule('expand3x3', new Conv2d(squeeze, expand3x3, 3, { padding: 1, bias: true }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    const s = tf.relu(this.child('squeeze').forward(x));
    return tf.concat([tf.relu(this.child('expand1x1').forward(s)), tf.relu(this.child('expand3x3').forward(s))], 3);
  }
}

export class SqueezeNet extends Classifier {
  readonly tapNames = ['stem', ...STAGES, 'pooled'];
  readonly fullPrecisionLayers = ['conv1', 'finalConv'];
  readonly classifierLayers = ['finalConv'];
  private readonly maxPool = new MaxPool2d(3, 2, 0, true);
  private readonly pool = new GlobalAvgPool();

  constructor({ classes, inChannels }: ArchitectureOptions) {
    super();
    this.registerModule('conv1', new Conv2d(inChannels, STEM_CHANNELS, 7, { stride: 2, bias: true }));
    let channels = STEM_CHANNELS;
    STAGE_FIRES.forEach((fires, s) => {
      const modules = fires.map((fire) => {
        const module = new Fire(channels, fire);
        channels = fire[1] + fire[2];
        return module;
      });
      this.registerModule(STAGES[s], new Sequential(...modules));
    });
    this.registerModule('dropout', new Dropout(0.5, 'squeezenet.dropout'));
    this.registerModule('finalConv', new Conv2d(channels, classes, 1, { bias: true, init: 'normal-0.01' }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    // The stem tap is the first max-pool's output, the input of fire2; each later stage starts with a max-pool.
    const features: tf.Tensor[] = [this.maxPool.forward(tf.relu(this.child('conv1').forward(x)))];
    STAGES.forEach((name, s) => {
      const input = s === 0 ? features.at(-1)! : this.maxPool.forward(features.at(-1)!);
      features.push(this.child(name).forward(input));
    });
    // The classifier is a conv, so no vector feeds it; the pooled tap is the 512-d average of the last stage,
    // which is what the KD methods that read a pooled embedding need.
    const last = features.at(-1)!;
    features.push(this.pool.forward(last));
    const scores = tf.relu(this.child('finalConv').forward(this.child('dropout').forward(last)));
    return { logits: this.pool.forward(scores) as tf.Tensor2D, features };
  }
}
