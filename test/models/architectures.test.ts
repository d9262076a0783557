// The ten registered architectures: parameter counts against arithmetic done here from the architecture definitions
// (and torchvision's published totals), logits and tap shapes on libtorch in both modes without leaks, a gradient
// for every parameter, and the registry's errors and seeding.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import type { Classifier } from '../../models/classifier.ts';
import { ARCHITECTURES, architectureNames, createModel } from '../../models/registry.ts';
import { channelShuffle } from '../../models/shufflenetV2.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

// ---- Parameter arithmetic, from the definitions (PyTorch's counting: weights and biases, BN affine only). ----

/** A k x k convolution, in -> out channels, optionally with bias. */
const conv = (k: number, cin: number, cout: number, bias = false) => k * k * cin * cout + (bias ? cout : 0);
/** A k x k depthwise convolution over c channels (no bias). */
const dw = (k: number, c: number) => k * k * c;
/** Batch norm's weight and bias. */
const bn = (c: number) => 2 * c;
/** A linear layer with bias. */
const linear = (fin: number, fout: number) => fin * fout + fout;

/** CIFAR ResNet: option-A shortcuts carry no parameters; BatchNorm1d(64) before the classifier. */
function resnetCifarParams(depth: number, classes: number, inChannels: number): number {
  const n = (depth - 2) / 6;
  let total = conv(3, inChannels, 16) + bn(16);
  let cin = 16;
  for (const c of [16, 32, 64]) {
    for (let i = 0; i < n; i++) {
      total += conv(3, cin, c) + bn(c) + conv(3, c, c) + bn(c);
      cin = c;
    }
  }
  return total + bn(64) + linear(64, classes);
}

/** VGG with BN from a list of conv widths (convs with bias), then one linear 512 -> classes. */
function vggParams(widths: number[], classes: number, inChannels: number): number {
  let cin = inChannels;
  let total = 0;
  for (const c of widths) {
    total += conv(3, cin, c, true) + bn(c);
    cin = c;
  }
  return total + linear(512, classes);
}

function cnnSmallParams(classes: number, inChannels: number): number {
  return conv(3, inChannels, 16) + conv(3, 16, 32) + conv(3, 32, 64) + conv(3, 64, 64) + bn(16) + bn(32) + bn(64) * 2 +
    linear(64, classes);
}

/** torchvision ResNet-18: basic blocks; a 1x1 conv + BN shortcut where the stride or width changes. */
function resnet18Params(classes: number, inChannels: number): number {
  let total = conv(7, inChannels, 64) + bn(64);
  let cin = 64;
  for (const [s, c] of [64, 128, 256, 512].entries()) {
    for (let i = 0; i < 2; i++) {
      const stride = i === 0 && s > 0 ? 2 : 1;
      total += conv(3, cin, c) + bn(c) + conv(3, c, c) + bn(c);
      if (stride !== 1 || cin !== c) total += conv(1, cin, c) + bn(c);
      cin = c;
    }
  }
  return total + linear(512, classes);
}

/** torchvision MobileNet-V2 1.0: the (t, c, n, s) table; no expansion conv when t = 1. */
function mobilenetV2Params(classes: number, inChannels: number): number {
  const table = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  let total = conv(3, inChannels, 32) + bn(32);
  let cin = 32;
  for (const [t, c, n] of table) {
    for (let i = 0; i < n; i++) {
      const hidden = cin * t;
      if (t !== 1) total += conv(1, cin, hidden) + bn(hidden);
      total += dw(3, hidden) + bn(hidden) + conv(1, hidden, c) + bn(c);
      cin = c;
    }
  }
  return total + conv(1, 320, 1280) + bn(1280) + linear(1280, classes);
}

/** torchvision ShuffleNet-V2 x0.5: stride-2 units have two branches, stride-1 units process half the channels. */
function shufflenetV2Params(classes: number, inChannels: number): number {
  let total = conv(3, inChannels, 24) + bn(24);
  let cin = 24;
  for (const [c, repeats] of [[48, 4], [96, 8], [192, 4]]) {
    const half = c / 2;
    total += dw(3, cin) + bn(cin) + conv(1, cin, half) + bn(half); // branch1 of the stride-2 unit
    total += conv(1, cin, half) + bn(half) + dw(3, half) + bn(half) + conv(1, half, half) + bn(half);
    total += (repeats - 1) * (conv(1, half, half) + bn(half) + dw(3, half) + bn(half) + conv(1, half, half) + bn(half));
    cin = c;
  }
  return total + conv(1, 192, 1024) + bn(1024) + linear(1024, classes);
}

/** torchvision SqueezeNet 1.0: Fire(squeeze, expand1x1, expand3x3), all convs with bias, a 1x1 conv classifier. */
function squeezenetParams(classes: number, inChannels: number): number {
  const fires = [[16, 64, 64], [16, 64, 64], [32, 128, 128], [32, 128, 128], [48, 192, 192], [48, 192, 192],
    [64, 256, 256], [64, 256, 256]];
  let total = conv(7, inChannels, 96, true);
  let cin = 96;
  for (const [s, e1, e3] of fires) {
    total += conv(1, cin, s, true) + conv(1, s, e1, true) + conv(3, s, e3, true);
    cin = e1 + e3;
  }
  return total + conv(1, 512, classes, true);
}

const EXPECTED_PARAMS: Record<string, (classes: number, inChannels: number) => number> = {
  'cnn-small': cnnSmallParams,
  resnet20: (c, i) => resnetCifarParams(20, c, i),
  resnet32: (c, i) => resnetCifarParams(32, c, i),
  vgg8: (c, i) => vggParams([64, 128, 256, 512, 512], c, i),
  vgg13: (c, i) => vggParams([64, 64, 128, 128, 256, 256, 512, 512, 512, 512], c, i),
  resnet18: resnet18Params,
  vgg11bn: (c, i) => vggParams([64, 128, 256, 256, 512, 512, 512, 512], c, i),
  mobilenetv2: mobilenetV2Params,
  shufflenetv2: shufflenetV2Params,
  squeezenet: squeezenetParams,
};

// ---- Shapes, from the same definitions: each tap's [height, width, channels], or [features] for 'pooled'. ----

/** Output size of a k x k window with stride s and padding p, floor or (for ceil-mode pools) ceil rounding. */
const out = (size: number, k: number, s: number, p: number, ceil = false) =>
  (ceil ? Math.ceil : Math.floor)((size + 2 * p - k) / s) + 1;
const map = (size: number, c: number) => [size, size, c];

const EXPECTED_TAPS: Record<string, (size: number) => number[][]> = {
  'cnn-small': (x) => {
    const h1 = out(x, 2, 2, 0);
    const h2 = out(h1, 2, 2, 0);
    return [map(h1, 16), map(h2, 32), map(h2, 64), [64]];
  },
  resnet20: (x) => [map(x, 16), map(x, 16), map(out(x, 3, 2, 1), 32), map(out(out(x, 3, 2, 1), 3, 2, 1), 64), [64]],
  resnet32: (x) => EXPECTED_TAPS.resnet20(x),
  vgg8: (x) => {
    const [h1, h2] = [out(x, 2, 2, 0), out(out(x, 2, 2, 0), 2, 2, 0)];
    const h3 = out(h2, 2, 2, 0);
    return [map(x, 64), map(h1, 128), map(h2, 256), map(h3, 512), map(h3, 512), [512]];
  },
  vgg13: (x) => EXPECTED_TAPS.vgg8(x),
  resnet18: (x) => {
    const stem = out(out(x, 7, 2, 3), 3, 2, 1);
    const [h2, h3] = [out(stem, 3, 2, 1), out(out(stem, 3, 2, 1), 3, 2, 1)];
    const h4 = out(h3, 3, 2, 1);
    return [map(stem, 64), map(stem, 64), map(h2, 128), map(h3, 256), map(h4, 512), [512]];
  },
  vgg11bn: (x) => {
    const sizes = [x];
    for (let i = 0; i < 4; i++) sizes.push(out(sizes[i], 2, 2, 0));
    return [map(sizes[0], 64), map(sizes[1], 128), map(sizes[2], 256), map(sizes[3], 512), map(sizes[4], 512), [512]];
  },
  mobilenetv2: (x) => {
    const sizes = [out(x, 3, 2, 1)];
    for (let i = 0; i < 4; i++) sizes.push(out(sizes[i], 3, 2, 1));
    return [map(sizes[0], 32), map(sizes[1], 24), map(sizes[2], 32), map(sizes[3], 96), map(sizes[4], 320),
      map(sizes[4], 1280), [1280]];
  },
  shufflenetv2: (x) => {
    const sizes = [out(out(x, 3, 2, 1), 3, 2, 1)];
    for (let i = 0; i < 3; i++) sizes.push(out(sizes[i], 3, 2, 1));
    return [map(sizes[0], 24), map(sizes[1], 48), map(sizes[2], 96), map(sizes[3], 192), map(sizes[3], 1024), [1024]];
  },
  squeezenet: (x) => {
    const stem = out(out(x, 7, 2, 0), 3, 2, 0, true);
    const h2 = out(stem, 3, 2, 0, true);
    const h3 = out(h2, 3, 2, 0, true);
    return [map(stem, 96), map(stem, 256), map(h2, 512), map(h3, 512), [512]];
  },
};

// ---- The cases. ----

interface Case {
  name: string;
  classes: number;
  inChannels: number;
  /** Input sizes for the shape tests; the first is also the gradient test's. */
  sizes: number[];
}

const TINY = ['resnet18', 'vgg11bn', 'mobilenetv2', 'shufflenetv2', 'squeezenet'];
const CASES: Case[] = [
  { name: 'cnn-small', classes: 10, inChannels: 1, sizes: [28] },
  ...['resnet20', 'resnet32', 'vgg8', 'vgg13'].map((name) => ({ name, classes: 10, inChannels: 3, sizes: [32] })),
  ...TINY.map((name) => ({ name, classes: 200, inChannels: 3, sizes: [32, 64] })),
];

/** A seeded [n, size, size, channels] input. */
function input(n: number, size: number, channels: number): tf.Tensor4D {
  return tf.randomNormal([n, size, size, channels], 0, 1, 'float32', 5);
}

function withModel<T>(c: Case, body: (model: Classifier) => T): T {
  const model = createModel(c.name, { classes: c.classes, inChannels: c.inChannels, seed: 1 });
  try {
    return body(model);
  } finally {
    model.dispose();
  }
}

describe('registry', () => {
  it('registers exactly the ten architectures', () => {
    expect(architectureNames().sort()).toEqual(CASES.map((c) => c.name).sort());
  });

  it('rejects an unknown name with the list of valid names', () => {
    let message = '';
    try {
      createModel('resnet19', { classes: 10, inChannels: 3, seed: 1 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("'resnet19'");
    for (const name of architectureNames()) expect(message).toContain(name);
  });

  it.each(CASES)('$name: the same seed gives the same weights, another seed different ones', (c) => {
    const opts = { classes: c.classes, inChannels: c.inChannels };
    const [a, b, other] = [1, 1, 2].map((seed) => createModel(c.name, { ...opts, seed }));
    const [pa, pb, po] = [a, b, other].map((m) => m.namedParameters());
    for (let i = 0; i < pa.length; i++) {
      const va = pa[i].variable.dataSync();
      expect(pb[i].name).toBe(pa[i].name);
      expect(Buffer.from(pb[i].variable.dataSync().buffer).equals(Buffer.from(va.buffer)), pa[i].name).toBe(true);
      // Conv and linear weights are random; BN weights (ones) and zero biases are the same whatever the seed.
      if (pa[i].variable.rank >= 2) {
        expect(Buffer.from(po[i].variable.dataSync().buffer).equals(Buffer.from(va.buffer)), pa[i].name).toBe(false);
      }
    }
    for (const m of [a, b, other]) m.dispose();
  });
});

describe('parameter counts', () => {
  it.each(CASES)('$name matches the count worked out from its definition', (c) => {
    for (const classes of [c.classes, 1000]) {
      const model = ARCHITECTURES[c.name].build({ classes, inChannels: c.inChannels });
      expect(model.parameterCount()).toBe(EXPECTED_PARAMS[c.name](classes, c.inChannels));
      model.dispose();
    }
  });

  it('matches the published totals', () => {
    const count = (name: string, classes: number) => {
      const model = ARCHITECTURES[name].build({ classes, inChannels: 3 });
      const n = model.parameterCount();
      model.dispose();
      return n;
    };
    expect(count('resnet20', 10)).toBe(269_850);
    // torchvision's resnet18, mobilenet_v2, shufflenet_v2_x0_5 and squeezenet1_0 at 1000 classes.
    expect(count('resnet18', 1000)).toBe(11_689_512);
    expect(count('mobilenetv2', 1000)).toBe(3_504_872);
    expect(count('shufflenetv2', 1000)).toBe(1_366_792);
    expect(count('squeezenet', 1000)).toBe(1_248_424);
  });
});

describe('forward', () => {
  it.each(CASES)('$name: logits and taps have the expected shapes in both modes, without leaks', (c) => {
    withModel(c, (model) => {
      expect(model.tapNames.at(-1)).toBe('pooled');
      const modules = new Set(model.namedModules().map(([path]) => path));
      for (const path of model.fullPrecisionLayers) expect(modules.has(path), path).toBe(true);
      for (const size of c.sizes) {
        const x = input(2, size, c.inChannels);
        for (const training of [true, false]) {
          model.train(training);
          const before = tf.memory().numTensors;
          tf.tidy(() => {
            const { logits, features } = model.forwardWithFeatures(x);
            expect(logits.shape).toEqual([2, c.classes]);
            expect(features.map((f) => f.shape.slice(1))).toEqual(EXPECTED_TAPS[c.name](size));
            expect(features.length).toBe(model.tapNames.length);
            expect(logits.dataSync().every(Number.isFinite)).toBe(true);
          });
          expect(tf.memory().numTensors, `${size} px, training ${training}`).toBe(before);
        }
        x.dispose();
      }
    });
  });
});

describe('gradients', () => {
  it.each(CASES)('$name: a loss on the logits reaches every trainable parameter', (c) => {
    withModel(c, (model) => {
      model.train();
      // Batch 4: batch norm over a batch of 2 at 1x1 resolution (or BatchNorm1d) makes outputs of +-1 whatever the
      // input, which would starve earlier layers of gradient.
      const x = input(4, c.sizes[0], c.inChannels);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), c.classes);
      const params = model.namedParameters();
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar, params.map((p) => p.variable));
      const zero = params.filter((p) => {
        const g = grads[p.variable.name];
        return !g || tf.tidy(() => g.abs().max().dataSync()[0]) === 0;
      }).map((p) => p.name);
      expect(zero).toEqual([]);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([x, labels, value, ...Object.values(grads)]);
    });
  });
});

describe('ShuffleNet channel shuffle', () => {
  it('interleaves the two halves of the channels, as NCHW view/transpose/view does', () => {
    const shuffled = tf.tidy(() => channelShuffle(tf.tile(tf.range(0, 6).reshape([1, 1, 1, 6]), [2, 2, 2, 1])));
    expect(shuffled.shape).toEqual([2, 2, 2, 6]);
    expect(Array.from(shuffled.dataSync().slice(0, 6))).toEqual([0, 3, 1, 4, 2, 5]);
    shuffled.dispose();
  });
});
