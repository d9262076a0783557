// A 2-D convolution plus one bias value per output channel, run as tfjs's FusedConv2D kernel (linear activation)
// so that a backend adds the bias inside the convolution (libtorch does) instead of in a pass of its own. tfjs's
// own tf.fused.conv2d wraps the kernel in a custom gradient that computes every input's gradient, the image's
// too; the gradient registered here gives one per input, so the tape asks only for those it needs.
import {
  conv2d, Conv2DBackpropFilter, Conv2DBackpropInput, engine, FusedConv2D, registerGradient, type Tensor, type Tensor1D,
  type Tensor4D,
} from '@tensorflow/tfjs-core';

import { compositeOps, type FusedOpOptions } from './fusedKernel.ts';

export interface Conv2dWithBiasAttrs {
  strides: number;
  /** 'valid', 'same' or a symmetric zero padding. */
  pad: 'valid' | 'same' | number;
  dilations: number;
}

/** conv2d(x, filter) + bias for NHWC x, HWIO filter and a [outChannels] bias. */
export function conv2dWithBias(x: Tensor4D, filter: Tensor4D, bias: Tensor1D, attrs: Conv2dWithBiasAttrs,
  options: FusedOpOptions = {}): Tensor4D {
  if (options.composite || compositeOps()) return conv2dWithBiasComposite(x, filter, bias, attrs);
  return engine().runKernel(FusedConv2D, { x, filter, bias }, {
    ...attrs, dataFormat: 'NHWC', dimRoundingMode: undefined, activation: 'linear',
  } as never) as Tensor4D;
}

/** The composite twin: the convolution, then the bias added. */
export function conv2dWithBiasComposite(x: Tensor4D, filter: Tensor4D, bias: Tensor1D, attrs: Conv2dWithBiasAttrs): Tensor4D {
  return conv2d(x, filter, attrs.strides, attrs.pad, 'NHWC', attrs.dilations).add(bias);
}

registerGradient({
  kernelName: FusedConv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    const a = attrs as unknown as Conv2dWithBiasAttrs & { dataFormat: string; activation: string };
    // Only conv2dWithBias puts this kernel on the tape (tfjs's fused ops run it inside their own custom gradient).
    const dilated = [a.dilations].flat().some((d) => d !== 1);
    if (a.activation !== 'linear' || a.dataFormat !== 'NHWC' || dilated) {
      throw new Error(`FusedConv2D's gradient covers the linear, NHWC, undilated form only, got ${a.activation}, ` +
        `${a.dataFormat}, dilations ${a.dilations}`);
    }
    const g = dy as Tensor4D;
    const geometry = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    // The backprop kernels directly: tfjs-core exports no op for them.
    return {
      x: () => engine().runKernel(Conv2DBackpropInput, { dy: g, filter }, { ...geometry, inputShape: x.shape } as never) as Tensor,
      filter: () => engine().runKernel(Conv2DBackpropFilter, { x, dy: g }, { ...geometry, filterShape: filter.shape } as never) as Tensor,
      bias: () => g.sum([0, 1, 2]),
    };
  },
});
