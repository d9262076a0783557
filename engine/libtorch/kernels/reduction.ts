// Reductions, arg-reductions, cumulative ops, softmax and top-k.
import {
  All, Any, ArgMax, ArgMin, backend_util, Cumprod, Cumsum, type DataType, Max, Mean, Min, Prod, Softmax, Sum, TopK,
  type TensorInfo, util,
} from '@tensorflow/tfjs-core';

import type { LibtorchBackend } from '../backend.ts';
import { storedCode } from './elementwise.ts';
import { kernel } from './kernel.ts';

type Reduction = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'all' | 'any';

interface ReduceAttrs {
  axis?: number | number[];
  /** Max names its axes so. */
  reductionIndices?: number | number[];
  keepDims: boolean;
}

function reduce(op: Reduction, outDType: (x: DataType) => DataType) {
  return ({ x }: { x: TensorInfo }, attrs: ReduceAttrs, b: LibtorchBackend) => {
    const axes = util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape);
    return b.output(b.addon.reduce(op, b.handle(x), axes, attrs.keepDims, storedCode(outDType(x.dtype))));
  };
}

const intOrFloat = (dtype: DataType) => backend_util.upcastType(dtype, 'int32');
const same = (dtype: DataType) => dtype;

function argReduce(isMax: boolean) {
  return ({ x }: { x: TensorInfo }, { axis }: { axis: number | number[] }, b: LibtorchBackend) =>
    b.output(b.addon.argReduce(isMax, b.handle(x), util.parseAxisParam(axis, x.shape)[0]));
}

function cumulative(isProduct: boolean) {
  return ({ x }: { x: TensorInfo }, attrs: { axis: number; exclusive: boolean; reverse: boolean }, b: LibtorchBackend) =>
    b.output(b.addon.cumulative(isProduct, b.handle(x), util.parseAxisParam(attrs.axis, x.shape)[0],
      attrs.exclusive, attrs.reverse));
}

export const reductionKernels = [
  kernel(Sum, reduce('sum', intOrFloat)),
  kernel(Mean, reduce('mean', () => 'float32')),
  kernel(Max, reduce('max', same)),
  kernel(Min, reduce('min', same)),
  kernel(Prod, reduce('prod', intOrFloat)),
  kernel(All, reduce('all', () => 'bool')),
  kernel(Any, reduce('any', () => 'bool')),
  kernel(ArgMax, argReduce(true)),
  kernel(ArgMin, argReduce(false)),
  kernel(Cumsum, cumulative(false)),
  kernel(Cumprod, cumulative(true)),
  kernel(Softmax, ({ logits }, { dim }, b) => b.output(b.addon.softmax(b.handle(logits), dim))),
  kernel(TopK, ({ x }, { k }, b) => {
    if (x.dtype === 'bool') throw new Error(`topk needs a numeric tensor, got ${x.dtype}`);
    return b.addon.topK(b.handle(x), k).map((p) => b.output(p));
  }),
];

