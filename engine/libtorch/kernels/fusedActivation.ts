// The bias + activation tail of tfjs's fused kernels (FusedConv2D, FusedDepthwiseConv2D, _FusedMatMul), applied
// to an addon result before it becomes a tfjs tensor. Intermediate handles are released here.
import type { TensorInfo } from '@tensorflow/tfjs-core';

import { DTYPE_CODES, type Packed } from '../addon.ts';
import type { LibtorchBackend } from '../backend.ts';

export interface FusedTail {
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
  /** NCHW convolutions add a [C] bias along axis 1. */
  biasShape?: number[];
}

const UNARY_ACTIVATIONS = ['relu', 'relu6', 'elu', 'sigmoid'];

/** Adds the bias and applies the activation; returns the final tensor. */
export function applyFusedTail(b: LibtorchBackend, result: Packed, tail: FusedTail): TensorInfo {
  let current = result;
  const replace = (next: Packed) => {
    b.addon.release(current[0]);
    current = next;
  };
  if (tail.bias) {
    let biasHandle = b.handle(tail.bias);
    const reshaped = tail.biasShape ? b.addon.reshape(biasHandle, tail.biasShape) : undefined;
    if (reshaped) biasHandle = reshaped[0];
    replace(b.addon.binary(b.binaryOp('add'), current[0], biasHandle, DTYPE_CODES.float32));
    if (reshaped) b.addon.release(reshaped[0]);
  }
  const activation = tail.activation ?? 'linear';
  if (activation === 'linear') {
    // nothing to apply
  } else if (UNARY_ACTIVATIONS.includes(activation)) {
    replace(b.addon.unary(b.unaryOp(activation), current[0], DTYPE_CODES.float32));
  } else if (activation === 'leakyrelu') {
    replace(b.addon.leakyRelu(current[0], tail.leakyreluAlpha ?? 0.2));
  } else if (activation === 'prelu') {
    if (!tail.preluActivationWeights) throw new Error('prelu activation needs preluActivationWeights');
    replace(b.addon.binary(b.binaryOp('prelu'), current[0], b.handle(tail.preluActivationWeights), DTYPE_CODES.float32));
  } else {
    b.addon.release(current[0]);
    throw new Error(`unknown fused activation '${activation}' (valid: linear, relu, relu6, elu, sigmoid, leakyrelu, prelu)`);
  }
  return b.output(current);
}
