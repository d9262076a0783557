// The tfjs KernelBackend whose tensors live in libtorch. It owns tensor storage (one addon handle per tfjs dataId)
// and hands kernels the handles of their inputs; the kernels themselves are in ./kernels.
import {
  type BackendTimingInfo, type BackendValues, type DataId, DataStorage, type DataType, engine, KernelBackend,
  type Tensor2D, type TensorInfo,
} from '@tensorflow/tfjs-core';

import {
  DTYPE_CODES, DTYPE_OF_CODE, type LibtorchAddon, memoryCacheInfoOf, type MemoryCacheInfo, memoryCacheLimitBytes,
  type Packed, type StoredDType,
} from './addon.ts';

export type { MemoryCacheInfo } from './addon.ts';

interface StoredTensor {
  handle: number;
  refCount: number;
}

export const LIBTORCH_BACKEND = 'libtorch';

export class LibtorchBackend extends KernelBackend {
  readonly addon: LibtorchAddon;
  private readonly data: DataStorage<StoredTensor>;
  private readonly onGpu: boolean;
  private readonly unaryOps: Map<string, number>;
  private readonly binaryOps: Map<string, number>;

  constructor(addon: LibtorchAddon) {
    super();
    this.addon = addon;
    this.onGpu = addon.info().device.startsWith('cuda');
    this.data = new DataStorage(this, engine());
    this.unaryOps = new Map(addon.unaryOpNames().map((name, i) => [name, i]));
    this.binaryOps = new Map(addon.binaryOpNames().map((name, i) => [name, i]));
  }

  /** Index of a unary op in the addon's table (its name is the kernel's, lower-case first: 'relu6'). */
  unaryOp(name: string): number {
    return opIndex(this.unaryOps, name);
  }

  /** Index of a binary op in the addon's table. */
  binaryOp(name: string): number {
    return opIndex(this.binaryOps, name);
  }

  /** The addon handle of a kernel input (moving it here first if another backend holds it). */
  handle(t: TensorInfo): number {
    return this.data.get(t.dataId).handle;
  }

  /** Registers a tensor the addon returned and describes it to tfjs. */
  output(packed: Packed): TensorInfo {
    const dataId = {};
    this.data.set(dataId, { handle: packed[0], refCount: 1 });
    return { dataId, shape: packed.slice(2), dtype: DTYPE_OF_CODE[packed[1]] };
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.data.set(dataId, { handle: this.store(values, shape, dtype), refCount: 1 });
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, { handle: this.store(values, shape, dtype), refCount });
  }

  private store(values: BackendValues, shape: number[], dtype: DataType): number {
    return this.addon.write(asTypedArray(values, shape, dtype), shape, DTYPE_CODES[dtype as StoredDType])[0];
  }

  override readSync(dataId: DataId): BackendValues {
    return this.addon.read(this.data.get(dataId).handle);
  }

  override read(dataId: DataId): Promise<BackendValues> {
    // On a GPU the copy to the host runs off the JS thread; on the CPU it is a plain memcpy.
    if (this.onGpu) return this.addon.readAsync(this.data.get(dataId).handle);
    return Promise.resolve(this.readSync(dataId));
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.addon.release(entry.handle);
    this.data.delete(dataId);
    return true;
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): { unreliable: boolean; numBytesInLibtorch: number; liveHandles: number; numBytesCached: number } {
    const stats = this.addon.stats();
    return {
      unreliable: false, numBytesInLibtorch: stats.storageBytes, liveHandles: stats.liveTensors,
      numBytesCached: stats.cachedBytes,
    };
  }

  /**
   * Gives the memory cache's blocks (freed tensor memory kept for reuse) back to the OS, and trims malloc's heap;
   * returns the bytes of cached blocks released. The next steps fault their memory in afresh, so call it between
   * phases (e.g. before a long evaluation), not every step.
   */
  emptyCache(): number {
    return this.addon.emptyCache();
  }

  /**
   * Sets the memory cache's limit: bytes, or a size string ('2GiB', '512MiB'); 0 keeps nothing. Blocks beyond a
   * lower limit are given back at once. The default is SQAKD_MEMORY_CACHE, else 1/8 of the machine's memory.
   */
  setMemoryCacheLimit(limit: number | string): void {
    this.addon.setMemoryCache(memoryCacheLimitBytes(limit));
  }

  /** The memory cache: its limit and contents in bytes, and how many large allocations it served. */
  memoryCache(): MemoryCacheInfo {
    return memoryCacheInfoOf(this.addon.stats());
  }

  // Not async: tfjs's profiler runs a kernel through time() and reads its outputs right after the call, so a
  // kernel's error must be thrown here, not turned into a rejected promise (which left tf.profile with a
  // TypeError about undefined outputs and an unhandled rejection).
  override time(f: () => void): Promise<BackendTimingInfo> {
    const start = performance.now();
    f();
    this.addon.synchronize();
    return Promise.resolve({ kernelMs: performance.now() - start });
  }

  /**
   * Bytes its kernels have asked of the CPU allocator so far (temporaries included), for the kernel profiler;
   * undefined on a GPU, whose memory that allocator does not see.
   */
  bytesRequested(): number | undefined {
    return this.onGpu ? undefined : this.addon.bytesRequested();
  }

  /** Waits for the device's queued work (a no-op on the CPU); the kernel profiler calls it after each kernel. */
  synchronize(): void {
    this.addon.synchronize();
  }

  /** Coordinates of the true elements of a tensor (used by tf.whereAsync and tf.booleanMaskAsync). */
  where(condition: TensorInfo): Tensor2D {
    const info = this.output(this.addon.nonzero(this.handle(condition)));
    return engine().makeTensorFromTensorInfo(info, this) as Tensor2D;
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override dispose(): void {
    // Tensors are released through disposeData; nothing else is held.
  }
}

function opIndex(table: Map<string, number>, name: string): number {
  const index = table.get(name);
  if (index === undefined) throw new Error(`the libtorch addon has no op '${name}'; rebuild it (npm run build:native)`);
  return index;
}

/** The addon takes float32 as Float32Array, int32 as Int32Array and bool as Uint8Array. */
function asTypedArray(values: BackendValues, shape: number[], dtype: DataType): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>);
    case 'int32':
      return values instanceof Int32Array ? values : new Int32Array(values as ArrayLike<number>);
    case 'bool':
      return values instanceof Uint8Array ? values : new Uint8Array(values as ArrayLike<number>);
    default:
      throw new Error(`the libtorch backend cannot hold ${dtype} tensors (shape [${shape}]); ` +
        'it stores float32, int32 and bool');
  }
}
