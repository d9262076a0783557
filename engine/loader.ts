// Chooses the backend every entry point runs on: libtorch if its addon loads, else tfjs-node(-gpu) if the user
// installed it, else tfjs's pure-JS cpu backend (with a warning). `--backend` / SQAKD_BACKEND force one.
import { cpus } from 'node:os';

import * as tf from '@tensorflow/tfjs-core';

import { addonPath, loadAddon, SettingError } from './libtorch/addon.ts';
import { loadedBlas, REFERENCE_BLAS_WARNING } from './libtorch/blas.ts';
import { registerLibtorchBackend } from './libtorch/register.ts';

export const BACKEND_NAMES = ['libtorch', 'tensorflow', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

export const CPU_WARNING = "sqakd: running on tfjs's pure-JavaScript cpu backend, about 2,000x slower than libtorch " +
  'at training convolutions; install libtorch (Debian/Ubuntu: apt-get install libtorch-dev, or set LIBTORCH) and ' +
  'run `npm run build:native`';

/** Parses a backend request ('auto' or a backend name), rejecting anything else with the valid names. */
export function parseBackendRequest(value: string | undefined): BackendName | 'auto' {
  const request = value === undefined || value === '' ? 'auto' : value;
  if (request === 'auto' || (BACKEND_NAMES as readonly string[]).includes(request)) return request as BackendName | 'auto';
  throw new Error(`unknown backend '${request}' (valid: auto, ${BACKEND_NAMES.join(', ')})`);
}

async function tryLibtorch(): Promise<string | undefined> {
  try {
    registerLibtorchBackend();
    return undefined;
  } catch (e) {
    // A bad setting (SQAKD_THREADS, SQAKD_MEMORY_CACHE, ...) is the user's to fix, not a reason to run on cpu.
    if (e instanceof SettingError) throw e;
    return (e as Error).message;
  }
}

async function tryTensorflow(): Promise<string | undefined> {
  for (const name of TFJS_NODE_PACKAGES) {
    try {
      await import(name);
      return undefined;
    } catch {
      // not installed; try the next one
    }
  }
  return `neither ${TFJS_NODE_PACKAGES.join(' nor ')} is installed (npm install @tensorflow/tfjs-node-gpu@4.22.0)`;
}

/**
 * Activates a backend and returns its name. `requested` defaults to $SQAKD_BACKEND, then 'auto'.
 * A forced backend that is unavailable is an error; 'auto' falls back libtorch -> tensorflow -> cpu.
 */
export async function initBackend(requested: string | undefined = process.env.SQAKD_BACKEND): Promise<BackendName> {
  const request = parseBackendRequest(requested);
  const attempts: Record<Exclude<BackendName, 'cpu'>, () => Promise<string | undefined>> = {
    libtorch: tryLibtorch,
    tensorflow: tryTensorflow,
  };
  let chosen: BackendName = 'cpu';
  if (request === 'cpu') {
    chosen = 'cpu';
  } else if (request !== 'auto') {
    const failure = await attempts[request]();
    if (failure) throw new Error(`backend '${request}' is not available: ${failure}`);
    chosen = request;
  } else {
    for (const name of ['libtorch', 'tensorflow'] as const) {
      if ((await attempts[name]()) === undefined) {
        chosen = name;
        break;
      }
    }
    if (chosen === 'cpu') console.warn(CPU_WARNING);
  }
  if (!(await tf.setBackend(chosen))) throw new Error(`tfjs could not initialise the '${chosen}' backend`);
  await tf.ready();
  if (chosen === 'cpu') silenceCpuBanner();
  if (chosen === 'libtorch' && loadedBlas().reference) console.warn(REFERENCE_BLAS_WARNING);
  return chosen;
}

/**
 * Stops tfjs's cpu backend from printing its multi-line "Hi, looks like you are running TensorFlow.js in Node.js"
 * banner on its first tensor: it points at tfjs-node, while CPU_WARNING already says, in one line, how slow cpu
 * is and how to get libtorch. The banner is guarded by the backend's `firstUse` field (tfjs-backend-cpu 4.22).
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

/** What a backend runs on: for libtorch, the addon's libtorch version, device, threads and build. */
export function describeBackend(name: BackendName): Record<string, string | number | boolean> {
  if (name !== 'libtorch') return { device: name === 'cpu' ? 'cpu (pure JavaScript)' : 'libtensorflow' };
  const info = loadAddon().info();
  return {
    torch: info.torchVersion, device: info.device, threads: info.threads, mkldnn: info.mkldnn,
    builtWithCuda: info.builtWithCuda, cudaAvailable: info.cudaAvailable, blas: loadedBlas().library, addon: addonPath(),
  };
}

/** What a run's numbers depend on besides its configuration: float sums change with any of these. */
export interface NumericEnvironment {
  backend: string;
  device: string;
  /** Intra-op threads (reduction order follows how work is split); null where the backend does not say. */
  threads: number | null;
  /** The BLAS library the matrix products run on. */
  blas: string;
  /** The libtorch version, or the tfjs version for tfjs's own backends. */
  library: string;
  /** The CPU model: kernels are chosen by instruction set (AVX2, AVX-512), and sum in different orders. */
  cpu: string;
}

/** The numeric environment of an initialised backend, as runs record it. */
export function numericEnvironment(name: BackendName): NumericEnvironment {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  if (name !== 'libtorch') {
    return { backend: name, device: name === 'cpu' ? 'cpu (pure JavaScript)' : 'libtensorflow', threads: name === 'cpu' ? 1 : null,
      blas: name === 'cpu' ? 'none' : 'libtensorflow', library: `tfjs ${tf.version_core}`, cpu };
  }
  const info = loadAddon().info();
  return { backend: name, device: info.device, threads: info.threads, blas: loadedBlas().library,
    library: `libtorch ${info.torchVersion}`, cpu };
}
