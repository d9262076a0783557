// quantizeModel and calibrateQuantizers (SPEC section 2): which layers each architecture keeps in full precision,
// custom policies and their errors, checkpoint compatibility of the parameter paths, the calibration rules worked
// out here in plain JS from the layer's actual input (including the output scale mean|conv(x, w)| /
// mean|conv(Q(x), Q(w))|, with a plain-JS convolution), per-channel bounds, and a few training steps of ResNet-20
// for every quantizer family at W1A1, W2A2, W4A4 and W8A8.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { EwgsQuantizer } from '../../methods/quantizers/ewgs.ts';
import { Classifier, type ClassifierOutput } from '../../models/classifier.ts';
import { Conv2d, Linear, type Module } from '../../models/nn/index.ts';
import { calibrateQuantizers, QuantConv2d, quantizedLayers, QuantLinear, quantizeModel } from '../../models/quantize.ts';
import { createModel } from '../../models/registry.ts';
import { Adam } from '../../runs/optim/adam.ts';
import { randomValues, seededNormal } from '../support/random.ts';

beforeAll(async () => {
  // These are many small ops: with a training run in the background, a thread pool per op spends far longer
  // waiting for cores than computing (50 s instead of 5 s here). One thread unless the caller chose otherwise.
  process.env.SQAKD_THREADS ??= '1';
  await initBackend('libtorch');
});

const f32 = Math.fround;
const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};
const mean = (a: ArrayLike<number>) => sum(a) / a.length;
/** Sample standard deviation (divisor n - 1, PyTorch's torch.std: SPEC section 2's calibration). */
const std = (a: ArrayLike<number>) => {
  const m = mean(a);
  return Math.sqrt(sum(Array.from(a, (v) => (v - m) ** 2)) / (a.length - 1));
};

function expectRelClose(actual: number, expected: number, rtol: number, what: string) {
  if (!(Math.abs(actual - expected) <= rtol * Math.abs(expected) + 1e-7)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (relative tolerance ${rtol})`);
  }
}

/** Paths of the Conv2d and Linear layers, split into quantized and full precision. */
function weightLayers(model: Module): { quantized: string[]; fullPrecision: string[] } {
  const quantized: string[] = [];
  const fullPrecision: string[] = [];
  for (const [path, m] of model.namedModules()) {
    if (m instanceof QuantConv2d || m instanceof QuantLinear) quantized.push(path);
    else if (m instanceof Conv2d || m instanceof Linear) fullPrecision.push(path);
  }
  return { quantized, fullPrecision };
}

const build = (arch: string, seed = 1) => createModel(arch, { classes: 10, inChannels: 3, seed });

describe('quantizeModel: full-precision policies', () => {
  it('resnet20: the stem conv1, bnFinal and fc stay full precision; all 18 block convs are quantized', () => {
    const model = build('resnet20');
    expect(model.fullPrecisionLayers).toEqual(['conv1', 'bnFinal', 'fc']);
    const replaced = quantizeModel(model, { quantizer: 'ewgs', wBits: 2, aBits: 2 });
    // 3 stages x 3 blocks x 2 convs
    const blockConvs = ['layer1', 'layer2', 'layer3'].flatMap((s) => [0, 1, 2].flatMap((b) => [`${s}.${b}.conv1`, `${s}.${b}.conv2`]));
    expect(blockConvs.length).toBe(18);
    expect(replaced).toEqual(blockConvs);
    const layers = weightLayers(model);
    expect(layers.quantized).toEqual(blockConvs);
    expect(layers.fullPrecision).toEqual(['conv1', 'fc']);
    const modules = new Map(model.namedModules());
    expect(modules.get('bnFinal')!.constructor.name).toBe('BatchNorm1d');
    expect([...modules.keys()].some((p) => p.startsWith('bnFinal.'))).toBe(false);
    // EWGS layers get weight and activation quantizers and a learnable output scale.
    const layer = modules.get('layer2.1.conv2') as QuantConv2d;
    expect(layer.weightQuantizer).toBeInstanceOf(EwgsQuantizer);
    expect(layer.activationQuantizer).toBeInstanceOf(EwgsQuantizer);
    expect(layer.outputScale).not.toBeNull();
    model.dispose();
  });

  for (const [arch, stage0Convs, quantizedConvs] of [['vgg8', 1, 4], ['vgg13', 2, 8]] as const) {
    it(`${arch}: the whole stage0 (${stage0Convs} conv${stage0Convs > 1 ? 's' : ''}) and the classifier stay full precision`, () => {
      const model = build(arch);
      quantizeModel(model, { quantizer: 'lsq', wBits: 4, aBits: 4 });
      const layers = weightLayers(model);
      // stage0 is conv, bn, relu (, conv, bn, relu): its convs are at 0 (and 3).
      const stage0 = stage0Convs === 1 ? ['stage0.0'] : ['stage0.0', 'stage0.3'];
      expect(layers.fullPrecision).toEqual([...stage0, 'classifier']);
      expect(layers.quantized.length).toBe(quantizedConvs);
      expect(layers.quantized.every((p) => /^stage[1-4]\./.test(p))).toBe(true);
      model.dispose();
    });
  }

  // The stem conv and the classifier of every Tiny-ImageNet model and of cnn-small.
  const policies: Array<[string, string[]]> = [
    ['resnet18', ['conv1', 'fc']],
    ['vgg11bn', ['stage0.0', 'classifier']],
    ['mobilenetv2', ['stem.0', 'classifier']],
    ['shufflenetv2', ['conv1.0', 'fc']],
    ['squeezenet', ['conv1', 'finalConv']],
    ['cnn-small', ['stem.0', 'fc']],
  ];
  for (const [arch, expected] of policies) {
    it(`${arch}: ${expected.join(' and ')} stay full precision, every other conv/linear is quantized`, () => {
      const model = build(arch);
      expect([...model.fullPrecisionLayers]).toEqual(expected);
      const before = weightLayers(model).fullPrecision;
      const replaced = quantizeModel(model, { quantizer: 'dorefa', wBits: 4, aBits: 4 });
      const layers = weightLayers(model);
      expect(layers.fullPrecision).toEqual(expected);
      expect(replaced).toEqual(before.filter((p) => !expected.includes(p)));
      expect(layers.quantized).toEqual(replaced);
      model.dispose();
    });
  }

  it('a custom full-precision list replaces the default policy; an unknown path lists the layers', () => {
    const model = build('resnet20');
    quantizeModel(model, { quantizer: 'pact', wBits: 2, aBits: 2, fullPrecision: ['layer1', 'fc'] });
    const layers = weightLayers(model);
    // The whole of layer1 (6 convs) and fc stay; the stem conv1 is now quantized.
    expect(layers.fullPrecision).toEqual([0, 1, 2].flatMap((b) => [`layer1.${b}.conv1`, `layer1.${b}.conv2`]).concat('fc'));
    expect(layers.quantized[0]).toBe('conv1');
    expect(layers.quantized.length).toBe(13);
    model.dispose();

    const other = build('resnet20');
    let message = '';
    try {
      quantizeModel(other, { quantizer: 'ewgs', wBits: 2, aBits: 2, fullPrecision: ['conv1', 'layer9.conv'] });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^full-precision layers not in the model: layer9\.conv \(modules with weights: conv1, layer1\.0\.conv1, .*layer3\.2\.conv2, fc\)$/);
    expect(message).not.toContain('\n');
    // Nothing was replaced by the failed call.
    expect(weightLayers(other).quantized).toEqual([]);
    expect(() => quantizeModel(other, { quantizer: 'ternary', wBits: 2, aBits: 2 })).toThrow(/unknown quantizer 'ternary' \(valid: ewgs, pact, lsq, dorefa/);
    expect(() => quantizeModel(other, { quantizer: 'ewgs', wBits: 0, aBits: 2 })).toThrow(/weight bits must be an integer from 1 to 8, got 0/);
    expect(() => quantizeModel(other, { quantizer: 'ewgs', wBits: 2, aBits: 9 })).toThrow(/activation bits must be an integer from 1 to 8, got 9/);
    other.dispose();
  });

  it('the quantized model\'s parameter paths are a superset of the full-precision model\'s (a teacher checkpoint loads)', () => {
    for (const quantizer of ['ewgs', 'pact', 'lsq', 'dorefa']) {
      const teacher = build('resnet20', 4);
      const student = build('resnet20', 4);
      quantizeModel(student, { quantizer, wBits: 2, aBits: 2, perChannelWeights: quantizer === 'lsq' });
      const fp = teacher.stateDict();
      const q = student.stateDict();
      for (const [path, v] of fp) {
        expect(q.has(path), `${quantizer}: ${path}`).toBe(true);
        expect(q.get(path)!.shape).toEqual(v.shape);
        expect(q.get(path)!.trainable).toBe(v.trainable);
      }
      // The weights were carried over, and everything new belongs to a quantizer.
      expect(Array.from(q.get('layer1.0.conv1.weight')!.dataSync())).toEqual(Array.from(fp.get('layer1.0.conv1.weight')!.dataSync()));
      for (const path of q.keys()) {
        if (!fp.has(path)) expect(path).toMatch(/\.(weightQuantizer\.|activationQuantizer\.|outputScale$)/);
      }
      const groups = new Map(student.namedParameters().map((p) => [p.name, p.group]));
      for (const [path, group] of groups) expect(group).toBe(fp.has(path) ? 'model' : 'quantizer');
      teacher.dispose();
      student.dispose();
    }
  });
});

// ---- Calibration, worked out in plain JS ----

/** Round half to even (PyTorch's and tfjs's round). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The EWGS quantizer of SPEC section 2 in float32 arithmetic (Math.fround after each operation, in the kernel's
 * order), with the bounds of element i's channel: t = (x - l) / (u - l), n = clamp(t, 0, 1),
 * q = round(n (L - 1)) / (L - 1), and 2 (q - 1/2) for weights.
 */
function ewgsValues(x: ArrayLike<number>, lower: number[], upper: number[], bits: number, signed: boolean): Float64Array {
  const steps = 2 ** bits - 1;
  const channels = lower.length;
  return Float64Array.from(x, (v, i) => {
    const c = i % channels;
    const range = f32(upper[c] - lower[c]);
    const t = f32(f32(v - lower[c]) / range);
    const n = Math.min(1, Math.max(0, t));
    const q = f32(roundHalfEven(f32(n * steps)) / steps);
    return signed ? f32(f32(q - 0.5) * 2) : q;
  });
}

/** A plain-JS NHWC convolution with an HWIO weight, square kernel, symmetric zero padding, optional bias. */
function convolve(x: ArrayLike<number>, [n, h, w, cin]: number[], weight: ArrayLike<number>, [k, , , cout]: number[],
  stride: number, pad: number, bias?: ArrayLike<number>): Float64Array {
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const base = ((b * oh + i) * ow + j) * cout;
        for (let o = 0; o < cout; o++) out[base + o] = bias ? bias[o] : 0;
        for (let ki = 0; ki < k; ki++) {
          const y = i * stride - pad + ki;
          if (y < 0 || y >= h) continue;
          for (let kj = 0; kj < k; kj++) {
            const xx = j * stride - pad + kj;
            if (xx < 0 || xx >= w) continue;
            for (let c = 0; c < cin; c++) {
              const xv = x[((b * h + y) * w + xx) * cin + c];
              const wBase = ((ki * k + kj) * cin + c) * cout;
              for (let o = 0; o < cout; o++) out[base + o] += xv * weight[wBase + o];
            }
          }
        }
      }
    }
  }
  return out;
}

const meanAbs = (a: ArrayLike<number>) => mean(Array.from(a, Math.abs));

/**
 * Checks a calibrated EWGS conv against SPEC section 2 computed from its input x: activations u = 3 std(x) /
 * sqrt(1 - 2/pi), l = min(x); weights u = 3 std(w), l = -u (per tensor, or per column of the [-1, C] view); and
 * output_scale = mean|conv(x, w)| / mean|conv(Q(x), Q(w))|.
 */
function checkCalibration(layer: QuantConv2d, x: tf.Tensor, bits: number, perChannel: boolean) {
  const xs = x.dataSync();
  const w = layer.weight.dataSync();
  const cout = layer.outChannels;
  const act = layer.activationQuantizer as EwgsQuantizer;
  const wq = layer.weightQuantizer as EwgsQuantizer;

  expectRelClose(act.upper.dataSync()[0], (3 * std(xs)) / Math.sqrt(1 - 2 / Math.PI), 1e-4, 'activation u');
  expect(act.lower.dataSync()[0]).toBe(Math.min(...xs));

  const columns = perChannel
    ? Array.from({ length: cout }, (_, c) => Array.from(w).filter((_, i) => i % cout === c))
    : [Array.from(w)];
  expect(wq.upper.shape).toEqual(perChannel ? [cout] : []);
  expect(wq.lower.shape).toEqual(perChannel ? [cout] : []);
  const upper = Array.from(wq.upper.dataSync());
  const lower = Array.from(wq.lower.dataSync());
  columns.forEach((col, c) => {
    expectRelClose(upper[c], 3 * std(col), 1e-4, `weight u[${c}]`);
    expectRelClose(lower[c], -3 * std(col), 1e-4, `weight l[${c}]`);
  });

  // The output scale, from the bounds the layer holds (checked just above), in plain JS.
  const bias = layer.bias?.dataSync();
  const reference = convolve(xs, x.shape, w, layer.weight.shape, layer.stride, layer.padding, bias);
  const qx = ewgsValues(xs, [act.lower.dataSync()[0]], [act.upper.dataSync()[0]], bits, false);
  const qw = ewgsValues(w, lower, upper, bits, true);
  const quantized = convolve(qx, x.shape, qw, layer.weight.shape, layer.stride, layer.padding, bias);
  const scale = meanAbs(reference) / meanAbs(quantized);
  expectRelClose(layer.outputScale!.dataSync()[0], scale, 1e-4, 'output scale');
  expect(Math.abs(scale - 1)).toBeGreaterThan(1e-3);
}

/** A classifier that is one conv (with bias), for calibrating a layer whose input is the model's input. */
class OneConv extends Classifier {
  readonly tapNames = ['pooled'];
  readonly fullPrecisionLayers: string[] = [];
  readonly classifierLayers: string[] = [];

  constructor() {
    super();
    this.registerModule('conv', new Conv2d(3, 4, 3, { padding: 1, bias: true }));
  }

  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    const pooled = tf.mean(this.child('conv').forward(x), [1, 2]) as tf.Tensor2D;
    return { logits: pooled, features: [pooled] };
  }
}

describe('calibrateQuantizers', () => {
  it('a one-conv model: EWGS bounds and output scale from the calibration batch (per tensor, with bias)', () => {
    const model = new OneConv();
    const conv = model.namedModules()[1][1] as Conv2d;
    const normal = seededNormal(21);
    conv.weight.assign(tf.tensor(randomValues(3 * 3 * 3 * 4, normal, 0.3), conv.weight.shape));
    conv.bias!.assign(tf.tensor1d([0.1, -0.2, 0.05, 0.3]));
    expect(quantizeModel(model, { quantizer: 'ewgs', wBits: 2, aBits: 2 })).toEqual(['conv']);
    // Inputs N(0.3, 1): min(x) is negative, so the activation lower bound is not the ReLU's 0.
    const x = tf.tensor(randomValues(2 * 5 * 5 * 3, () => normal() + 0.3), [2, 5, 5, 3]);
    calibrateQuantizers(model, x);
    const layer = quantizedLayers(model)[0][1] as QuantConv2d;
    expect(layer.calibrating).toBe(false);
    expect((layer.activationQuantizer as EwgsQuantizer).lower.dataSync()[0]).toBeLessThan(0);
    checkCalibration(layer, x, 2, false);
    // After calibration the layer computes conv(Q(x), Q(w)) * |scale|.
    const qx = ewgsValues(x.dataSync(), [(layer.activationQuantizer as EwgsQuantizer).lower.dataSync()[0]],
      [(layer.activationQuantizer as EwgsQuantizer).upper.dataSync()[0]], 2, false);
    const wq = layer.weightQuantizer as EwgsQuantizer;
    const qw = ewgsValues(layer.weight.dataSync(), [wq.lower.dataSync()[0]], [wq.upper.dataSync()[0]], 2, true);
    const unscaled = convolve(qx, x.shape, qw, layer.weight.shape, 1, 1, layer.bias!.dataSync());
    const expected = unscaled.map((v) => v * Math.abs(layer.outputScale!.dataSync()[0]));
    const y = tf.tidy(() => layer.forward(x));
    const got = y.dataSync();
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-4);
    // The output scale's gradient: with L = sum(r * y) and y = conv * |s|, dL/ds = sign(s) * sum(r * conv), for
    // either sign of s (the scale is used through its absolute value).
    const r = randomValues(expected.length, normal, 1);
    const rTensor = tf.tensor(r, y.shape);
    const scale = layer.outputScale!;
    const dot = unscaled.reduce((acc, v, i) => acc + v * r[i], 0);
    for (const sign of [1, -1]) {
      scale.assign(tf.scalar(sign * Math.abs(scale.dataSync()[0])));
      const { grads } = tf.variableGrads(() => layer.forward(x).mul(rTensor).sum() as tf.Scalar, [scale]);
      expectRelClose(grads[scale.name].dataSync()[0], sign * dot, 1e-4, `output scale gradient, scale sign ${sign}`);
      tf.dispose(Object.values(grads));
    }
    tf.dispose([x, y, rTensor]);
    model.dispose();
  });

  for (const perChannel of [false, true]) {
    it(`resnet20 layer2.0.conv1 (stride 2), ${perChannel ? 'per-channel' : 'per-tensor'} weights: bounds and output scale from its actual input`, () => {
      const model = build('resnet20', 9);
      quantizeModel(model, { quantizer: 'ewgs', wBits: 4, aBits: 4, perChannelWeights: perChannel });
      const layer = new Map(model.namedModules()).get('layer2.0.conv1') as QuantConv2d;
      // Capture the layer's input during the calibration pass.
      let captured: tf.Tensor | null = null;
      const forward = layer.forward.bind(layer);
      layer.forward = (input: tf.Tensor) => {
        captured ??= tf.keep(input.clone());
        return forward(input);
      };
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
      calibrateQuantizers(model, x);
      expect(captured).not.toBeNull();
      expect(captured!.shape).toEqual([2, 8, 8, 16]);
      checkCalibration(layer, captured!, 4, perChannel);
      // Every quantized layer was calibrated (bounds moved from their initial -1/0 .. 1).
      for (const [, l] of quantizedLayers(model)) {
        expect((l.weightQuantizer as EwgsQuantizer).upper.dataSync()[0]).not.toBe(1);
        expect(l.outputScale!.dataSync()[0]).not.toBe(1);
      }
      tf.dispose([x, captured!]);
      model.dispose();
    });
  }
});

// ---- Training steps for every quantizer family and bit width ----

describe('training a quantized resnet20', () => {
  const labels = [0, 3, 7, 1, 9, 4, 2, 5];
  for (const quantizer of ['ewgs', 'pact', 'lsq', 'dorefa']) {
    for (const bits of [1, 2, 4, 8]) {
      it(`${quantizer} W${bits}A${bits}: 2 Adam steps on random data, finite, a non-zero gradient for every parameter`, () => {
        const model = build('resnet20', 11);
        quantizeModel(model, { quantizer, wBits: bits, aBits: bits });
        const x = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 3);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
        calibrateQuantizers(model, x);
        const named = model.namedParameters();
        const optimizers = [
          new Adam(named.filter((p) => p.group === 'model'), { lr: 1e-3, weightDecay: 1e-4 }),
          new Adam(named.filter((p) => p.group === 'quantizer'), { lr: 1e-3 }),
        ];
        expect(named.some((p) => p.group === 'quantizer')).toBe(quantizer !== 'dorefa');
        const before = new Map(named.map((p) => [p.name, p.variable.dataSync().slice()]));
        for (let step = 0; step < 2; step++) {
          const loss = () => tf.tidy(() => tf.logSoftmax(model.forward(x)).mul(y).sum(1).mean().neg() as tf.Scalar);
          const { value, grads } = tf.variableGrads(loss, named.map((p) => p.variable));
          expect(Number.isFinite(value.dataSync()[0])).toBe(true);
          for (const p of named) {
            const g = grads[p.variable.name].dataSync();
            expect(g.every(Number.isFinite), `${p.name}: finite gradient`).toBe(true);
            expect(g.some((v) => v !== 0), `${p.name}: non-zero gradient at step ${step}`).toBe(true);
          }
          for (const o of optimizers) o.apply(grads);
          tf.dispose([value, ...Object.values(grads)]);
        }
        for (const p of named) {
          const now = p.variable.dataSync();
          expect(now.every(Number.isFinite), `${p.name}: finite`).toBe(true);
          expect(now.some((v, i) => v !== before.get(p.name)![i]), `${p.name}: updated`).toBe(true);
        }
        for (const o of optimizers) o.dispose();
        tf.dispose([x, y]);
        model.dispose();
      });
    }
  }
});
