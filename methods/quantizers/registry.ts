// The quantizer families by name. A family gives the weight and activation quantizers of a quantized layer and
// whether the layer learns an output scale. Adding one means a file here and a line below. lsq-paper (the LSQ
// paper's backward, where the paper's runs used PyTorch's) is a family of its own: it needs no run setting.
import { didYouMean } from '../../engine/didYouMean.ts';
import { DorefaQuantizer } from './dorefa.ts';
import { EwgsQuantizer } from './ewgs.ts';
import { LsqQuantizer } from './lsq.ts';
import { PactQuantizer } from './pact.ts';
import type { Quantizer } from './quantizer.ts';

export interface QuantizerSettings {
  /** EWGS gradient scaling delta (0: straight-through). */
  delta?: number;
  /** PACT: learn the clipping level (true) or keep it fixed as the public Tiny-ImageNet code does. */
  pactTrainAlpha?: boolean;
}

export interface QuantizerFamily {
  description: string;
  reference: string;
  /** Quantized layers multiply their output by a learnable |scale| (EWGS). */
  outputScale: boolean;
  weight(bits: number, channels: number | undefined, settings: QuantizerSettings): Quantizer;
  activation(bits: number, settings: QuantizerSettings): Quantizer;
}

export const QUANTIZERS: Record<string, QuantizerFamily> = {
  ewgs: {
    description: 'learnable clip bounds, 2^b levels, EWGS backward (delta 0 = STE) and learnable output scale',
    reference: 'Lee et al., Network Quantization with Element-wise Gradient Scaling, CVPR 2021',
    outputScale: true,
    weight: (bits, channels, s) => new EwgsQuantizer({ bits, role: 'weight', channels, delta: s.delta }),
    activation: (bits, s) => new EwgsQuantizer({ bits, role: 'activation', delta: s.delta }),
  },
  pact: {
    description: 'learned activation clip alpha (PACT gradient), DoReFa weights',
    reference: 'Choi et al., PACT: Parameterized Clipping Activation for Quantized Neural Networks, 2018',
    outputScale: false,
    weight: (bits, channels) => new DorefaQuantizer({ bits, role: 'weight', channels }),
    activation: (bits, s) => new PactQuantizer({ bits, role: 'activation', trainAlpha: s.pactTrainAlpha }),
  },
  lsq: {
    description: 'learned step size with LSQ gradient scaling, for weights and activations; the backward\'s range ' +
      'test reads round(x/s), as PyTorch\'s learnable fake-quantize (MQBench: the paper\'s runs) does',
    reference: 'Esser et al., Learned Step Size Quantization, ICLR 2020',
    outputScale: false,
    weight: (bits, channels) => new LsqQuantizer({ bits, role: 'weight', channels }),
    activation: (bits) => new LsqQuantizer({ bits, role: 'activation' }),
  },
  dorefa: {
    description: 'tanh-normalised weights and [0, 1]-clipped activations, uniform levels',
    reference: 'Zhou et al., DoReFa-Net, 2016',
    outputScale: false,
    weight: (bits, channels) => new DorefaQuantizer({ bits, role: 'weight', channels }),
    activation: (bits) => new DorefaQuantizer({ bits, role: 'activation' }),
  },
  'lsq-paper': {
    description: 'lsq with the LSQ paper\'s backward, whose range test reads the unrounded x/s',
    reference: 'Esser et al., Learned Step Size Quantization, ICLR 2020',
    outputScale: false,
    weight: (bits, channels) => new LsqQuantizer({ bits, role: 'weight', channels, form: 'paper' }),
    activation: (bits) => new LsqQuantizer({ bits, role: 'activation', form: 'paper' }),
  },
};

/** A quantizer family by name; an unknown name is an error listing the valid ones. */
export function quantizerFamily(name: string): QuantizerFamily {
  const family = Object.hasOwn(QUANTIZERS, name) ? QUANTIZERS[name] : undefined;
  if (!family) throw new Error(`unknown quantizer '${name}'${didYouMean(name, [...Object.keys(QUANTIZERS), 'none'])} ` +
    `(valid: ${Object.keys(QUANTIZERS).join(', ')}, or none)`);
  return family;
}
