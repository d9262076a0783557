// The native addon (engine/libtorch/native) as seen from TypeScript: its functions and how to load it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, totalmem } from 'node:os';
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
  stats(): AddonStats;
  /** Bytes asked of the CPU allocator since the process started. */
  bytesRequested(): number;
  /** The most freed tensor memory the addon's caching allocator keeps for reuse, in bytes (0: none). */
  setMemoryCache(bytes: number): void;
  /** Gives every cached block back to the OS; returns the bytes released. */
  emptyCache(): number;
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

  conv2d(x: H, filter: H, geometry: number[], depthwise: boolean, bias: H | null): Packed;
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

export interface AddonStats {
  liveTensors: number;
  /** Bytes of the distinct storages JS holds. */
  storageBytes: number;
  /** The caching allocator's limit and what it holds now (freed blocks kept for reuse), in bytes. */
  cacheLimitBytes: number;
  cachedBytes: number;
  /** Bytes of large (>= 1 MiB) blocks in use by tensors, as mapped (rounded up to their size class). */
  largeBlockBytes: number;
  /** Large allocations served from the cache, and those mapped fresh. */
  cacheHits: number;
  cacheMisses: number;
  /** Large blocks given back to the OS (beyond the limit, or by emptyCache). */
  blocksReleased: number;
}

/** The caching CPU allocator's state (the addon's stats, see native/src/allocator.cc). */
export interface MemoryCacheInfo {
  limitBytes: number;
  /** Freed blocks held for reuse. */
  cachedBytes: number;
  /** Large (>= 1 MiB) blocks tensors hold, as mapped. */
  largeBlockBytes: number;
  /** Large allocations served from the cache / mapped fresh. */
  hits: number;
  misses: number;
  /** Large blocks given back to the OS. */
  blocksReleased: number;
}

/** The memory cache part of the addon's stats. */
export function memoryCacheInfoOf(s: AddonStats): MemoryCacheInfo {
  return {
    limitBytes: s.cacheLimitBytes, cachedBytes: s.cachedBytes, largeBlockBytes: s.largeBlockBytes,
    hits: s.cacheHits, misses: s.cacheMisses, blocksReleased: s.blocksReleased,
  };
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

/** The addon if loadAddon() has loaded it, else undefined (loads nothing). */
export function loadedAddon(): LibtorchAddon | undefined {
  return loaded;
}

/** Loads the addon once, sets libtorch's thread count and device; throws an Error saying why it cannot load. */
export function loadAddon(): LibtorchAddon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(`the libtorch addon is not built (${path} is missing): install libtorch ` +
      '(Debian/Ubuntu: apt-get install libtorch-dev, or set LIBTORCH) and run `npm run build:native`');
  }
  const cacheLimit = memoryCacheSetting();  // a bad setting fails before anything loads
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
  // activation, every step (see native/src/allocator.cc); the cache is bounded by SQAKD_MEMORY_CACHE.
  addon.setMemoryCache(cacheLimit);
  addon.useDevice(deviceChoice(addon));
  loaded = addon;
  return addon;
}

function threadCount(): number {
  const env = process.env.SQAKD_THREADS;
  if (env === undefined || env === '') return availableParallelism();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new SettingError(`SQAKD_THREADS=${env} is not a positive integer`);
  return n;
}

function deviceChoice(addon: LibtorchAddon): 'cpu' | 'cuda' {
  const env = process.env.SQAKD_DEVICE ?? 'auto';
  if (env === 'cpu' || env === 'cuda') return env;
  if (env !== 'auto') throw new SettingError(`SQAKD_DEVICE=${env} is not valid (valid: auto, cpu, cuda)`);
  return addon.info().cudaAvailable ? 'cuda' : 'cpu';
}

/** A bad value in one of the engine's environment settings: an error, never a reason to fall back to cpu. */
export class SettingError extends Error {}

/** The share of the machine's memory the memory cache may hold by default. */
export const DEFAULT_MEMORY_CACHE_FRACTION = 1 / 8;

/**
 * The default memory cache limit: 1/8 of the memory this process may use (the machine's physical memory, or its
 * cgroup's limit where that is lower), in bytes.
 */
export function defaultMemoryCacheLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const total = constrained > 0 ? Math.min(totalmem(), constrained) : totalmem();
  return Math.floor(total * DEFAULT_MEMORY_CACHE_FRACTION);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30,
  gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40,
};

/**
 * Parses a memory size: a number of bytes, or a number with a binary unit (KiB, MiB, GiB, TiB; K/KB, M/MB, G/GB,
 * T/TB mean the same), e.g. `2GiB`, `512 MiB`, `1.5G`. Returns bytes, or undefined when `text` is not a size.
 */
export function parseMemorySize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A memory cache limit given as bytes or as a size string ('2GiB'); throws on anything else. */
export function memoryCacheLimitBytes(limit: number | string): number {
  const bytes = typeof limit === 'number' ? limit : parseMemorySize(limit);
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new Error(`memory cache limit ${JSON.stringify(limit)} is not a size (bytes, or e.g. '2GiB'; 0 for none)`);
  }
  return bytes;
}

/**
 * The memory cache limit the environment asks for, in bytes: SQAKD_MEMORY_CACHE (a size, see parseMemorySize),
 * 0 with SQAKD_RELEASE_MEMORY=1, else defaultMemoryCacheLimit(). Throws a SettingError on a bad value.
 */
export function memoryCacheSetting(env: NodeJS.ProcessEnv = process.env): number {
  const release = env.SQAKD_RELEASE_MEMORY;
  if (release !== undefined && release !== '' && release !== '0' && release !== '1') {
    throw new SettingError(`SQAKD_RELEASE_MEMORY=${release} is not valid (1: give freed memory back at once, 0: cache it)`);
  }
  const text = env.SQAKD_MEMORY_CACHE;
  const given = text === undefined || text === '' ? undefined : parseMemorySize(text);
  if (text !== undefined && text !== '' && given === undefined) {
    throw new SettingError(`SQAKD_MEMORY_CACHE=${text} is not a memory size (bytes, or a number with KiB, MiB or ` +
      'GiB, e.g. 2GiB; 0 for no cache)');
  }
  if (release === '1') {
    if (given !== undefined && given > 0) {
      throw new SettingError(`SQAKD_RELEASE_MEMORY=1 (no memory cache) contradicts SQAKD_MEMORY_CACHE=${text}; set one`);
    }
    return 0;
  }
  return given ?? defaultMemoryCacheLimit();
}
