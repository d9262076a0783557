// The native addon (engine/libtorch/native) as seen from TypeScript: its functions and how to load it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A tensor the addon created: [handle, dtypeCode, ...shape]. */
export type Packed = number[];

/** dtype codes shared with the addon (native/src/common.h). */
export const DTYPE_CODES = { float32: 0, int32: 1, bool: 2 } as const;
export type StoredDType = keyof typeof DTYPE_CODES;
export const DTYPE_OF_CODE: readonly StoredDType[] = ['float32', 'int32', 'bool'];

type H = number;

/** Every function the addon exports; arguments are handles, numbers and plain arrays. */
export interface LibtorchAddon {
  write(values: ArrayBufferView, shape: number[], dtype: number): Packed;
  read(h: H): Float32Array | Int32Array | Uint8Array;
  readAsync(h: H): Promise<Float32Array | Int32Array | Uint8Array>;
  release(h: H): void;
  stats(): { liveTensors: number; storageBytes: number };
  keepFreedMemory(keep: boolean): boolean;
  setThreads(n: number): void;
  useDevice(device: 'cpu' | 'cuda'): void;
  synchronize(): void;
  manualSeed(seed: number): void;
  info(): AddonInfo;

  unaryOpNames(): string[];
  binaryOpNames(): string[];
  unary(op: number, x: H, dtype: number): Packed;
  binary(op: number, a: H, b: H, dtype: number): Packed;
  step(x: H, alpha: number): Packed;
  leakyRelu(x: H, alpha: number): Packed;
  reluGrad(dy: H, x: H): Packed;
  clipByValue(x: H, min: number, max: number): Packed;
  cast(x: H, dtype: number): Packed;
  select(condition: H, t: H, e: H): Packed;
  addN(xs: H[]): Packed;

  reduce(op: string, x: H, axes: number[], keepDims: boolean, dtype: number): Packed;
  argReduce(isMax: boolean, x: H, axis: number): Packed;
  cumulative(isProduct: boolean, x: H, axis: number, exclusive: boolean, reverse: boolean): Packed;
  softmax(x: H, dim: number): Packed;
  topK(x: H, k: number): Packed[];

  conv2d(x: H, filter: H, geometry: number[], depthwise: boolean): Packed;
  conv2dBackpropInput(dy: H, filter: H, inputShape: number[], geometry: number[], depthwise: boolean): Packed;
  conv2dBackpropFilter(x: H, dy: H, filterShape: number[], geometry: number[], depthwise: boolean): Packed;
  maxPool(x: H, window: number[]): Packed;
  maxPoolGrad(dy: H, x: H, window: number[]): Packed;
  avgPool(x: H, window: number[]): Packed;
  avgPoolGrad(dy: H, x: H, window: number[]): Packed;

  reshape(x: H, shape: number[]): Packed;
  transpose(x: H, perm: number[]): Packed;
  slice(x: H, begin: number[], size: number[]): Packed;
  stridedSlice(x: H, begin: number[], strides: number[], sizes: number[], finalShape: number[]): Packed;
  concat(xs: H[], axis: number): Packed;
  stack(xs: H[], axis: number): Packed;
  unstack(x: H, axis: number): Packed[];
  split(x: H, sizes: number[], axis: number): Packed[];
  gather(x: H, indices: H, axis: number, batchDims: number): Packed;
  gatherNd(params: H, indices: H): Packed;
  scatterNd(indices: H, updates: H, shape: number[]): Packed;
  tile(x: H, reps: number[]): Packed;
  reverse(x: H, dims: number[]): Packed;
  pad(x: H, paddings: number[], value: number): Packed;
  mirrorPad(x: H, paddings: number[], symmetric: boolean): Packed;
  broadcastTo(x: H, shape: number[]): Packed;
  unsortedSegmentSum(x: H, segmentIds: H, numSegments: number): Packed;
  oneHot(indices: H, depth: number, onValue: number, offValue: number, dtype: number): Packed;
  nonzero(condition: H): Packed;

  fill(shape: number[], value: number, dtype: number): Packed;
  range(start: number, step: number, count: number, dtype: number): Packed;
  linspace(start: number, stop: number, num: number): Packed;
  multinomial(logits: H, numSamples: number, seed: number, normalized: boolean): Packed;

  batchMatMul(a: H, b: H, transposeA: boolean, transposeB: boolean, dtype: number): Packed;
  einsum(equation: string, operands: H[]): Packed;
  batchNormInference(x: H, mean: H, variance: H, offset: H | null, scale: H | null, epsilon: number): Packed;

  interpAxis(x: H, axis: number, i0: number[], i1: number[], frac: number[] | null): Packed;
  interpAxisGrad(dy: H, axis: number, inputSize: number, i0: number[], i1: number[], frac: number[] | null): Packed;
  cropAndResize(image: H, boxes: H, boxInd: H, cropHeight: number, cropWidth: number, nearest: boolean,
    extrapolationValue: number): Packed;

  batchNormTraining(x: H, scale: H, offset: H, epsilon: number): Packed[];
  /** dMean / dInvStd: gradients on the batch statistics (null: none). */
  batchNormTrainingGrad(dy: H, x: H, scale: H, mean: H, invStd: H, epsilon: number, dMean?: H | null,
    dInvStd?: H | null): Packed[];
  fakeQuantize(x: H, lower: H, upper: H, levels: number, delta: number, signed: boolean, forceComposite: boolean): Packed;
  fakeQuantizeGrad(dy: H, x: H, lower: H, upper: H, levels: number, delta: number, signed: boolean,
    forceComposite: boolean): Packed[];

  adamUpdate(param: H, grad: H, m: H, v: H, beta1: number, beta2: number, eps: number, weightDecay: number,
    stepSize: number, correction2: number): Packed[];
  sgdUpdate(param: H, grad: H, buffer: H, lr: number, momentum: number, weightDecay: number, nesterov: boolean,
    firstStep: boolean): Packed[];

  directConvStep(x: H, filter: H, dy: H, geometry: number[], iterations: number): number;
}

export interface AddonInfo {
  torchVersion: string;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  device: string;
  threads: number;
  mkldnn: boolean;
  parallelInfo: string;
}

const BUILT_ADDON = fileURLToPath(new URL('./native/build/Release/sqakd_libtorch.node', import.meta.url));

/** Where the addon is loaded from: $SQAKD_LIBTORCH_ADDON (e.g. a CUDA build kept elsewhere), else the local build. */
export function addonPath(): string {
  return process.env.SQAKD_LIBTORCH_ADDON || BUILT_ADDON;
}

let loaded: LibtorchAddon | undefined;

/** Loads the addon once, sets libtorch's thread count and device; throws an Error saying why it cannot load. */
export function loadAddon(): LibtorchAddon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(`the libtorch addon is not built (${path} is missing): install libtorch ` +
      '(Debian/Ubuntu: apt-get install libtorch-dev, or set LIBTORCH) and run `npm run build:native`');
  }
  let addon: LibtorchAddon;
  try {
    addon = createRequire(import.meta.url)(path) as LibtorchAddon;
  } catch (e) {
    throw new Error(`the libtorch addon failed to load (${(e as Error).message.split('\n')[0]}); rebuild it with ` +
      '`npm run build:native`');
  }
  // Debian's libtorch may start with a single thread; use every core unless told otherwise.
  addon.setThreads(threadCount());
  // Reusing freed tensor memory instead of returning it to the OS saves a page fault per 4 KiB of every
  // activation, every step (see native/src/memory.cc); SQAKD_RELEASE_MEMORY=1 returns it instead.
  addon.keepFreedMemory(process.env.SQAKD_RELEASE_MEMORY !== '1');
  addon.useDevice(deviceChoice(addon));
  loaded = addon;
  return addon;
}

function threadCount(): number {
  const env = process.env.SQAKD_THREADS;
  if (env === undefined || env === '') return availableParallelism();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SQAKD_THREADS=${env} is not a positive integer`);
  return n;
}

function deviceChoice(addon: LibtorchAddon): 'cpu' | 'cuda' {
  const env = process.env.SQAKD_DEVICE ?? 'auto';
  if (env === 'cpu' || env === 'cuda') return env;
  if (env !== 'auto') throw new Error(`SQAKD_DEVICE=${env} is not valid (valid: auto, cpu, cuda)`);
  return addon.info().cudaAvailable ? 'cuda' : 'cpu';
}
