// Registers the libtorch backend and its kernels with tfjs. Every kernel is wrapped so that a failure names the
// kernel and its inputs' dtypes and shapes; tfjs kernels without a libtorch implementation raise such an error too
// instead of tfjs's bare "not registered".
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

import { loadAddon } from './addon.ts';
import { LIBTORCH_BACKEND, LibtorchBackend } from './backend.ts';
import { LIBTORCH_KERNELS } from './kernels/index.ts';

let registered = false;

/** Registers the libtorch backend (priority above cpu) and its kernels; throws if the addon cannot load. */
export function registerLibtorchBackend(): void {
  if (registered) return;
  const addon = loadAddon();
  tf.registerBackend(LIBTORCH_BACKEND, () => new LibtorchBackend(addon), 3);
  const implemented = new Set<string>();
  for (const config of LIBTORCH_KERNELS) {
    tf.registerKernel(withErrorContext(config));
    implemented.add(config.kernelName);
  }
  for (const name of tfjsKernelNames()) {
    if (!implemented.has(name)) tf.registerKernel(unimplemented(name));
  }
  registered = true;
}

/** Names of the kernels libtorch implements. */
export function libtorchKernelNames(): string[] {
  return LIBTORCH_KERNELS.map((k) => k.kernelName);
}

/** Every kernel name tfjs-core declares (its exports `X = 'X'`). */
export function tfjsKernelNames(): string[] {
  return Object.entries(tf).filter(([key, value]) => typeof value === 'string' && key === value).map(([key]) => key);
}

function describeInputs(inputs: object): string {
  return Object.entries(inputs)
    .filter(([, t]) => t != null)
    .map(([name, t]) => `${name}: ${(t as TensorInfo).dtype}[${(t as TensorInfo).shape}]`)
    .join(', ');
}

function firstLine(message: string): string {
  return message.split('\n').find((line) => line.trim() !== '') ?? message;
}

function withErrorContext(config: KernelConfig): KernelConfig {
  const inner = config.kernelFunc;
  return {
    ...config,
    kernelFunc: (args) => {
      try {
        return inner(args);
      } catch (e) {
        const error = new Error(`libtorch kernel ${config.kernelName} failed on (${describeInputs(args.inputs)}): ` +
          firstLine((e as Error).message));
        (error as Error & { cause?: unknown }).cause = e;
        throw error;
      }
    },
  };
}

function unimplemented(kernelName: string): KernelConfig {
  return {
    kernelName,
    backendName: LIBTORCH_BACKEND,
    kernelFunc: ({ inputs }) => {
      throw new Error(`the libtorch backend has no kernel ${kernelName} (called on ${describeInputs(inputs)}); ` +
        'it implements the kernels listed by `sqakd backend --kernels`, or run on another backend with --backend cpu');
    },
  };
}
