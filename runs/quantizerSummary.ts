// What a quantized model's quantizers have learned, for the epoch log: the mean of each learned parameter over the
// model's quantizers of one kind (weight or activation), each quantizer counted once (a per-channel one by the mean
// of its channels). The names are the quantizers' own: EWGS's clip bounds `lower` and `upper`, PACT's clip `alpha`
// (activations; its weights are DoReFa's, which learn nothing), LSQ's step size `step`; and EWGS's per-layer output
// scale, as the |scale| the layer multiplies by, under kind `output`. A frozen PACT alpha is not learned, so not
// listed.
import * as tf from '@tensorflow/tfjs-core';

import { quantizedLayers } from '../models/quantize.ts';
import type { Module } from '../models/nn/module.ts';

/** kind -> parameter name -> mean. */
export type QuantizerSummary = Record<string, Record<string, number>>;

/** The means of the model's learned quantizer parameters by kind; {} for a model without any. One read-back. */
export function quantizerSummary(model: Module): QuantizerSummary {
  const entries: Array<{ kind: string; name: string; value: tf.Variable; abs: boolean }> = [];
  for (const [, layer] of quantizedLayers(model)) {
    for (const [kind, quantizer] of [['weight', layer.weightQuantizer], ['activation', layer.activationQuantizer]] as const) {
      for (const p of quantizer.namedParameters()) entries.push({ kind, name: p.name, value: p.variable, abs: false });
    }
    if (layer.outputScale) entries.push({ kind: 'output', name: 'scale', value: layer.outputScale, abs: true });
  }
  if (entries.length === 0) return {};
  const means = tf.tidy(() => tf.stack(entries.map((e) => (e.abs ? e.value.abs() : e.value).mean())).dataSync());
  const sums = new Map<string, { kind: string; name: string; sum: number; count: number }>();
  entries.forEach((e, i) => {
    const key = `${e.kind}/${e.name}`;
    const s = sums.get(key) ?? { kind: e.kind, name: e.name, sum: 0, count: 0 };
    s.sum += means[i];
    s.count++;
    sums.set(key, s);
  });
  const summary: QuantizerSummary = {};
  for (const { kind, name, sum, count } of sums.values()) (summary[kind] ??= {})[name] = sum / count;
  return summary;
}
