// A per-kernel profile of any tfjs work: every kernel the backend registers is wrapped, while the profiled function
// runs, with a timer that also counts calls and the bytes the kernel allocates. Unlike tf.profile it times
// only backend kernels, so a custom-gradient op's outer call and the kernels inside it are not counted twice,
// and it names the phase each kernel ran in from the engine's scope names (tfjs's gradient tape opens 'forward'
// and 'backward' scopes; callers name their own with tf.tidy(name, ...)).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

/** Where a kernel ran: one of the scope names asked for, or 'other'. */
export type ProfilePhase = string;

export interface KernelProfileRow {
  kernel: string;
  /** Milliseconds per phase, summed over the profiled calls. */
  msByPhase: Record<ProfilePhase, number>;
  ms: number;
  calls: number;
  /**
   * Bytes the kernel asked of the allocator, temporaries included, where the backend counts them (libtorch on the
   * CPU); else the bytes of the tensors it returned (views too).
   */
  bytes: number;
}

export interface KernelProfile {
  /** Wall time of the profiled function. */
  wallMs: number;
  /** Time inside backend kernels. */
  kernelMs: number;
  /** The share of the wall time outside kernels: JavaScript, tfjs's bookkeeping, tape and dispose. */
  outsideShare: number;
  rows: KernelProfileRow[];
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, string: 0 };

/** The innermost scope on the engine's stack whose name is one of `phases`, else 'other'. */
function currentPhase(phases: readonly string[]): ProfilePhase {
  const stack = (tf.engine().state as unknown as { scopeStack: Array<{ name: string }> }).scopeStack;
  for (let i = stack.length - 1; i >= 0; i--) if (phases.includes(stack[i].name)) return stack[i].name;
  return 'other';
}

function outputBytes(out: TensorInfo | TensorInfo[]): number {
  const outs = Array.isArray(out) ? out : [out];
  let bytes = 0;
  for (const t of outs) bytes += t.shape.reduce((a, b) => a * b, 1) * (BYTES_PER_ELEMENT[t.dtype] ?? 0);
  return bytes;
}

/**
 * Runs `f` with the active backend's kernels timed and returns its per-kernel profile, sorted by time. `phases`
 * are the scope names kernels are attributed to (innermost wins). The kernels are restored afterwards, also when
 * `f` throws.
 */
export function profileKernels(f: () => void, phases: readonly string[]): KernelProfile {
  const backendName = tf.getBackend();
  const backend = tf.backend() as unknown as { synchronize?: () => void; bytesRequested?: () => number | undefined };
  const requested = backend.bytesRequested?.() !== undefined ? () => backend.bytesRequested!()! : undefined;
  const originals = tf.getKernelsForBackend(backendName);
  const rows = new Map<string, KernelProfileRow>();
  let kernelMs = 0;
  let depth = 0;
  const timed = (config: KernelConfig): KernelConfig => ({
    ...config,
    kernelFunc: (args) => {
      // A kernel that runs another through the engine is timed once, as itself.
      if (depth > 0) return config.kernelFunc(args);
      depth++;
      const bytesBefore = requested?.() ?? 0;
      const start = performance.now();
      try {
        const out = config.kernelFunc(args);
        backend.synchronize?.();
        const ms = performance.now() - start;
        const bytes = requested ? requested() - bytesBefore : outputBytes(out);
        kernelMs += ms;
        let row = rows.get(config.kernelName);
        if (!row) rows.set(config.kernelName, row = { kernel: config.kernelName, msByPhase: {}, ms: 0, calls: 0, bytes: 0 });
        const phase = currentPhase(phases);
        row.msByPhase[phase] = (row.msByPhase[phase] ?? 0) + ms;
        row.ms += ms;
        row.calls++;
        row.bytes += bytes;
        return out;
      } finally {
        depth--;
      }
    },
  });
  const swap = (configs: KernelConfig[]) => {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel(config);
    }
  };
  swap(originals.map(timed));
  const start = performance.now();
  try {
    f();
    backend.synchronize?.();
  } finally {
    swap(originals);
  }
  const wallMs = performance.now() - start;
  return {
    wallMs, kernelMs, outsideShare: wallMs > 0 ? Math.max(0, 1 - kernelMs / wallMs) : 0,
    rows: [...rows.values()].sort((a, b) => b.ms - a.ms),
  };
}
