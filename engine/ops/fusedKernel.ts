// How a fused op decides between its native kernel and its composite twin.
import { getBackend, getKernel } from '@tensorflow/tfjs-core';

/** Whether the active backend registers `kernelName`, so the fused path can run. */
export function backendHasKernel(kernelName: string): boolean {
  return getKernel(kernelName, getBackend()) !== undefined;
}

/** Options shared by the fused ops. */
export interface FusedOpOptions {
  /** Run the composite twin even where the backend has the fused kernel (used by tests and benchmarks). */
  composite?: boolean;
}
