// How a libtorch kernel is declared: a tfjs kernel name and a function of (inputs, attrs, backend).
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

import { LIBTORCH_BACKEND, type LibtorchBackend } from '../backend.ts';

export type KernelImpl = (inputs: any, attrs: any, backend: LibtorchBackend) => TensorInfo | TensorInfo[];

/** Declares a libtorch kernel for the tfjs kernel `name`. */
export function kernel(name: string, impl: KernelImpl): KernelConfig {
  return {
    kernelName: name,
    backendName: LIBTORCH_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) => impl(inputs, attrs as NamedAttrMap, backend as LibtorchBackend),
  };
}
