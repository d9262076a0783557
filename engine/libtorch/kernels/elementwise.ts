// Elementwise kernels. Unary and binary ops are tables: tfjs kernel name -> the dtype rule of its output. The addon
// names each op like the kernel with a lower-case first letter ('Relu6' -> 'relu6').
import {
  AddN, backend_util, Cast, ClipByValue, type DataType, EluGrad, Identity, LeakyRelu, OnesLike, Prelu, Select, Step,
  type TensorInfo, ZerosLike,
} from '@tensorflow/tfjs-core';

import { DTYPE_CODES, type StoredDType } from '../addon.ts';
import type { LibtorchBackend } from '../backend.ts';
import { kernel } from './kernel.ts';

/** How a kernel's output dtype follows from its inputs, as in tfjs's cpu backend. */
type DTypeRule = 'same' | 'float' | 'bool' | 'int' | 'upcast';

// tfjs keeps the input's dtype for floating-point maths too (Math.sqrt of an int32 tensor is int32, truncated);
// only Exp always gives float32.
const UNARY: Record<string, DTypeRule> = {
  Abs: 'same', Acos: 'same', Acosh: 'same', Asin: 'same', Asinh: 'same', Atan: 'same', Atanh: 'same',
  Ceil: 'same', Cos: 'same', Cosh: 'same', Elu: 'same', Erf: 'same', Exp: 'float', Expm1: 'same',
  Floor: 'same', IsFinite: 'bool', IsInf: 'bool', IsNan: 'bool', Log: 'same', Log1p: 'same', LogicalNot: 'bool',
  Neg: 'same', Reciprocal: 'same', Relu: 'same', Relu6: 'same', Round: 'same', Rsqrt: 'same', Selu: 'same',
  Sigmoid: 'same', Sign: 'same', Sin: 'same', Sinh: 'same', Softplus: 'same', Sqrt: 'same', Square: 'same',
  Tan: 'same', Tanh: 'same',
};

// FloorDiv is int32 whatever its inputs (tfjs's cpu and webgl backends agree).
const BINARY: Record<string, DTypeRule> = {
  Add: 'upcast', Sub: 'upcast', Multiply: 'upcast', RealDiv: 'float', FloorDiv: 'int', Maximum: 'upcast',
  Minimum: 'upcast', Mod: 'upcast', Pow: 'upcast', SquaredDifference: 'upcast', Atan2: 'upcast', Equal: 'bool',
  NotEqual: 'bool', Less: 'bool', LessEqual: 'bool', Greater: 'bool', GreaterEqual: 'bool', LogicalAnd: 'bool',
  LogicalOr: 'bool', LogicalXor: 'bool', BitwiseAnd: 'int',
};

function outputDType(rule: DTypeRule, a: DataType, b: DataType = a): number {
  switch (rule) {
    case 'same': return storedCode(a);
    case 'float': return DTYPE_CODES.float32;
    case 'bool': return DTYPE_CODES.bool;
    case 'int': return DTYPE_CODES.int32;
    case 'upcast': return storedCode(backend_util.upcastType(a, b));
  }
}

/** The addon's dtype code of a tfjs dtype; complex64 and string tensors cannot be stored. */
export function storedCode(dtype: DataType): number {
  const code = DTYPE_CODES[dtype as StoredDType];
  if (code === undefined) throw new Error(`dtype ${dtype} is not supported (valid: float32, int32, bool)`);
  return code;
}

/** The addon's name of a kernel's op: the kernel name with a lower-case first letter ('Relu6' -> 'relu6'). */
function opName(kernelName: string): string {
  return kernelName[0].toLowerCase() + kernelName.slice(1);
}

const unaryKernels = Object.entries(UNARY).map(([name, rule]) => kernel(name, ({ x }, _attrs, b) =>
  b.output(b.addon.unary(b.unaryOp(opName(name)), b.handle(x), outputDType(rule, x.dtype)))));

const binaryKernels = Object.entries(BINARY).map(([name, rule]) => kernel(name, ({ a, b: y }, _attrs, b) =>
  b.output(b.addon.binary(b.binaryOp(opName(name)), b.handle(a), b.handle(y), outputDType(rule, a.dtype, y.dtype)))));

/** A view of the same data under a new tfjs data id (Identity, and Reshape to the same shape). */
export function alias(b: LibtorchBackend, x: TensorInfo): TensorInfo {
  return b.output(b.addon.reshape(b.handle(x), x.shape));
}

export const elementwiseKernels = [
  ...unaryKernels,
  ...binaryKernels,
  kernel(Prelu, ({ x, alpha }, _attrs, b) =>
    b.output(b.addon.binary(b.binaryOp('prelu'), b.handle(x), b.handle(alpha), DTYPE_CODES.float32))),
  kernel(EluGrad, ({ dy, y }, _attrs, b) =>
    b.output(b.addon.binary(b.binaryOp('eluGrad'), b.handle(dy), b.handle(y), DTYPE_CODES.float32))),
  kernel(Step, ({ x }, { alpha }, b) => b.output(b.addon.step(b.handle(x), alpha))),
  kernel(LeakyRelu, ({ x }, { alpha }, b) => b.output(b.addon.leakyRelu(b.handle(x), alpha))),
  kernel(ClipByValue, ({ x }, { clipValueMin, clipValueMax }, b) =>
    b.output(b.addon.clipByValue(b.handle(x), clipValueMin, clipValueMax))),
  kernel(Cast, ({ x }, { dtype }, b) =>
    dtype === x.dtype ? alias(b, x) : b.output(b.addon.cast(b.handle(x), storedCode(dtype)))),
  kernel(Select, ({ condition, t, e }, _attrs, b) =>
    b.output(b.addon.select(b.handle(condition), b.handle(t), b.handle(e)))),
  kernel(AddN, (inputs: TensorInfo[], _attrs, b) => b.output(b.addon.addN(inputs.map((t) => b.handle(t))))),
  kernel(Identity, ({ x }, _attrs, b) => alias(b, x)),
  kernel(ZerosLike, ({ x }, _attrs, b) => b.output(b.addon.fill(x.shape, 0, storedCode(x.dtype)))),
  kernel(OnesLike, ({ x }, _attrs, b) => b.output(b.addon.fill(x.shape, 1, storedCode(x.dtype)))),
];
