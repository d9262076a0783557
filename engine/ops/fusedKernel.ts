// How a fused op decides between its native kernel and its composite twin.
import { getBackend, getKernel } from '@tensorflow/tfjs-core';

let compositeEverywhere = false;

/**
 * Makes every fused op run its composite twin (true) or its native kernel where the backend has one (false, the
 * default): the 20-step trajectory test and `bench step --composite` compare the two.
 */
export function setCompositeOps(on: boolean): void {
  compositeEverywhere = on;
}

/** Whether fused ops run their composite twins everywhere (setCompositeOps). */
export function compositeOps(): boolean {
  return compositeEverywhere;
}

/** Whether the active backend registers `kernelName` and fused kernels are on, so the fused path can run. */
export function backendHasKernel(kernelName: string): boolean {
  return !compositeEverywhere && getKernel(kernelName, getBackend()) !== undefined;
}

/** Options shared by the fused ops. */
export interface FusedOpOptions {
  /** Run the composite twin even where the backend has the fused kernel (used by tests and benchmarks). */
  composite?: boolean;
}
