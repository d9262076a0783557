// One mechanism that makes any model quantized: every Conv2d and Linear outside the full-precision policy is
// replaced by a quantized subclass that keeps the same parameter paths (so a full-precision teacher's checkpoint
// loads into the student) and adds a weight quantizer, an input-activation quantizer and, for EWGS, a learnable
// output scale: y = layer(Qa(x), Qw(w)) * |scale| (bias inside the layer, SPEC section 2).
import * as tf from '@tensorflow/tfjs-core';

import { quantizerFamily, type QuantizerSettings } from '../methods/quantizers/registry.ts';
import type { Quantizer } from '../methods/quantizers/quantizer.ts';
import { checkBits } from '../methods/quantizers/quantizer.ts';
import type { Classifier } from './classifier.ts';
import { Conv2d } from './nn/conv2d.ts';
import { Linear } from './nn/linear.ts';
import type { Module } from './nn/module.ts';

export interface QuantizationSpec extends QuantizerSettings {
  /** Quantizer family: ewgs, pact, lsq or dorefa. */
  quantizer: string;
  wBits: number;
  aBits: number;
  /** Module paths kept in full precision (default: the model's own policy, SPEC section 2). */
  fullPrecision?: readonly string[];
  /** One set of weight-quantizer parameters per output channel instead of per tensor. */
  perChannelWeights?: boolean;
}

/** What quantized layers share: their quantizers, output scale and the calibration switch. */
interface QuantizedLayer {
  readonly weightQuantizer: Quantizer;
  readonly activationQuantizer: Quantizer;
  readonly outputScale: tf.Variable | null;
  calibrating: boolean;
}

interface LayerQuantizers {
  weight: Quantizer;
  activation: Quantizer;
  outputScale: boolean;
}

/**
 * Runs a quantized layer: on a calibration pass, first sets the quantizers from this input and weight and the
 * output scale to mean|f(x, w)| / mean|f(Q(x), Q(w))| (SPEC section 2).
 */
function quantizedForward(layer: QuantizedLayer, x: tf.Tensor, weight: tf.Variable,
  apply: (input: tf.Tensor, w: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (layer.calibrating) {
    layer.activationQuantizer.calibrate(x);
    layer.weightQuantizer.calibrate(weight);
    const scale = layer.outputScale;
    if (scale) {
      tf.tidy(() => {
        const reference = apply(x, weight).abs().mean();
        const quantized = apply(layer.activationQuantizer.forward(x), layer.weightQuantizer.forward(weight)).abs().mean();
        scale.assign(reference.div(quantized.maximum(1e-12)));
      });
    }
  }
  const y = apply(layer.activationQuantizer.forward(x), layer.weightQuantizer.forward(weight));
  return layer.outputScale ? y.mul(layer.outputScale.abs()) : y;
}

export class QuantConv2d extends Conv2d implements QuantizedLayer {
  readonly weightQuantizer: Quantizer;
  readonly activationQuantizer: Quantizer;
  readonly outputScale: tf.Variable | null;
  calibrating = false;

  /** Takes over `source`'s geometry and weights (the caller disposes `source`). */
  constructor(source: Conv2d, quantizers: LayerQuantizers) {
    super(source.inChannels, source.outChannels, source.kernelSize, {
      stride: source.stride, padding: source.padding, dilation: source.dilation,
      groups: source.depthwise ? source.inChannels : 1, bias: source.bias !== null, init: source.init,
    });
    this.weight.assign(source.weight);
    if (this.bias && source.bias) this.bias.assign(source.bias);
    this.weightQuantizer = this.registerModule('weightQuantizer', quantizers.weight);
    this.activationQuantizer = this.registerModule('activationQuantizer', quantizers.activation);
    this.outputScale = quantizers.outputScale ? this.registerParameter('outputScale', tf.scalar(1), 'quantizer') : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return quantizedForward(this, x, this.weight, (input, w) => this.convolve(input, w));
  }
}

export class QuantLinear extends Linear implements QuantizedLayer {
  readonly weightQuantizer: Quantizer;
  readonly activationQuantizer: Quantizer;
  readonly outputScale: tf.Variable | null;
  calibrating = false;

  constructor(source: Linear, quantizers: LayerQuantizers) {
    super(source.inFeatures, source.outFeatures, { bias: source.bias !== null, init: source.init });
    this.weight.assign(source.weight);
    if (this.bias && source.bias) this.bias.assign(source.bias);
    this.weightQuantizer = this.registerModule('weightQuantizer', quantizers.weight);
    this.activationQuantizer = this.registerModule('activationQuantizer', quantizers.activation);
    this.outputScale = quantizers.outputScale ? this.registerParameter('outputScale', tf.scalar(1), 'quantizer') : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return quantizedForward(this, x, this.weight, (input, w) => this.multiply(input, w));
  }
}

function isQuantized(m: Module): m is Module & QuantizedLayer {
  return m instanceof QuantConv2d || m instanceof QuantLinear;
}

function keptInFullPrecision(path: string, fullPrecision: readonly string[]): boolean {
  return fullPrecision.some((p) => path === p || path.startsWith(`${p}.`));
}

/** Output channels of a layer's weight, for per-channel quantizers ([-1, channels] view of HWIO/HWCM/[in, out]). */
function weightChannels(layer: Conv2d | Linear): number {
  return layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
}

/**
 * Quantizes `model` in place: returns the paths of the layers it replaced. Unknown full-precision paths are an
 * error (a typo would otherwise silently quantize the layer).
 */
export function quantizeModel(model: Classifier, spec: QuantizationSpec): string[] {
  const family = quantizerFamily(spec.quantizer);
  checkBits(spec.wBits, 'weight bits');
  checkBits(spec.aBits, 'activation bits');
  const fullPrecision = spec.fullPrecision ?? model.fullPrecisionLayers;
  const paths = new Map(model.namedModules());
  const unknown = fullPrecision.filter((p) => !paths.has(p));
  if (unknown.length) {
    throw new Error(`full-precision layers not in the model: ${unknown.join(', ')} (modules with weights: ` +
      `${[...paths].filter(([, m]) => m instanceof Conv2d || m instanceof Linear).map(([p]) => p).join(', ')})`);
  }
  const replaced: string[] = [];
  for (const [path, layer] of paths) {
    if (!(layer instanceof Conv2d || layer instanceof Linear) || isQuantized(layer)) continue;
    if (keptInFullPrecision(path, fullPrecision)) continue;
    const quantizers: LayerQuantizers = {
      weight: family.weight(spec.wBits, spec.perChannelWeights ? weightChannels(layer) : undefined, spec),
      activation: family.activation(spec.aBits, spec),
      outputScale: family.outputScale,
    };
    const quantized = layer instanceof Conv2d ? new QuantConv2d(layer, quantizers) : new QuantLinear(layer, quantizers);
    const cut = path.lastIndexOf('.');
    const parent = cut < 0 ? model : paths.get(path.slice(0, cut))!;
    parent.replaceModule(path.slice(cut + 1), quantized).dispose();
    replaced.push(path);
  }
  return replaced;
}

/** The quantized layers of a model with their paths. */
export function quantizedLayers(model: Module): Array<[string, Module & QuantizedLayer]> {
  return model.namedModules().filter((entry): entry is [string, Module & QuantizedLayer] => isQuantized(entry[1]));
}

/** Initialises every quantizer from one batch (SPEC section 2: the first training batch), in training mode. */
export function calibrateQuantizers(model: Classifier, x: tf.Tensor): void {
  const layers = quantizedLayers(model);
  for (const [, layer] of layers) layer.calibrating = true;
  try {
    tf.tidy(() => { model.forward(x); });
  } finally {
    for (const [, layer] of layers) layer.calibrating = false;
  }
}
