// The engine as the rest of the suite sees it: tfjs with its gradients and optimizers registered, the backend
// loader, and the fused ops. Nothing outside engine/ knows about libtorch.
//
// tfjs-core's Node entry point does not register gradients; the @tensorflow/tfjs package does (into the same
// global registry), so it is imported once here for that side effect.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';

export {
  BACKEND_NAMES, type BackendName, describeBackend, initBackend, numericEnvironment, type NumericEnvironment, parseBackendRequest,
} from './loader.ts';
export { SettingError } from './libtorch/addon.ts';
export { libtorchKernelNames } from './libtorch/register.ts';
export {
  DEFAULT_MEMORY_CACHE_FRACTION, defaultMemoryCacheLimit, emptyCache, memoryCacheInfo, type MemoryCacheInfo,
  setMemoryCacheLimit,
} from './memoryCache.ts';
export { type KernelProfile, type KernelProfileRow, profileKernels } from './kernelProfile.ts';
export { benchEngine, type EngineBenchOptions, type EngineBenchResult } from './bench/engineBench.ts';
export { batchNormTraining, batchNormTrainingComposite, type BatchNormTrainingResult } from './ops/batchNormTraining.ts';
export { compositeOps, setCompositeOps } from './ops/fusedKernel.ts';
export { conv2dWithBias, conv2dWithBiasComposite, type Conv2dWithBiasAttrs } from './ops/conv2dWithBias.ts';
export { customGradient } from './ops/customGradient.ts';
export { reluGrad, reluGradComposite } from './ops/reluGrad.ts';
export { adamUpdate, type AdamUpdateAttrs, sgdUpdate, type SgdUpdateAttrs } from './ops/optimizerUpdates.ts';
export { fakeQuantize, fakeQuantizeComposite, type FakeQuantizeParams } from './ops/fakeQuantize.ts';
