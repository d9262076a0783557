// How fast this machine trains each architecture, for the dry run's time estimates: a short timed SQAKD step
// (runs/stepBench.ts) per architecture and input shape, turned into seconds per multiply-accumulate so that every
// cell's estimated work (plan.ts) becomes hours. Measurements are cached per numeric environment (backend, device,
// threads, BLAS, CPU): a second dry run on the same machine measures nothing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import { datasetSpec } from '../../datasets/registry.ts';
import { type BackendName, numericEnvironment } from '../../engine/index.ts';
import { writeFileAtomic } from '../atomicWrite.ts';
import { benchStep } from '../stepBench.ts';
import type { ModelFacts } from './plan.ts';

/** Images per timed step: small enough that timing every architecture of a matrix takes seconds. */
export const SPEED_BATCH = 32;
const SPEED_STEPS = 3;

export interface StepSpeed {
  /** Training images per second of a W2A2 SQAKD step (student forward/backward, teacher forward, both optimizers). */
  imagesPerSecond: number;
  /** Wall seconds per multiply-accumulate of that step (its MACs: 4 forward passes per image). */
  secondsPerMac: number;
  measuredAt: string;
}

type SpeedCache = Record<string, StepSpeed>;

/** The cache file: $SQAKD_CACHE, else $XDG_CACHE_HOME/sqakd-bench, else ~/.cache/sqakd-bench. */
export function speedCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.SQAKD_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sqakd-bench');
  return join(base, 'step-speed.json');
}

function readCache(path: string): SpeedCache {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SpeedCache;
  } catch {
    // A damaged cache only costs a new measurement.
    return {};
  }
}

/**
 * The step speed of each architecture/dataset pair on this machine, measured (and cached) where not known yet.
 * `facts` gives each pair's forward MACs per image; pairs without facts (unknown names) are left out.
 */
export async function measureStepSpeeds(pairs: Iterable<[arch: string, dataset: string]>,
  facts: (arch: string, dataset: string) => ModelFacts | undefined, cachePath = speedCachePath()): Promise<Map<string, StepSpeed>> {
  const env = numericEnvironment(tf.getBackend() as BackendName);
  const machine = `${env.backend}|${env.device}|${env.threads}|${env.blas}|${env.library}|${env.cpu}`;
  const cache = readCache(cachePath);
  const speeds = new Map<string, StepSpeed>();
  let measured = false;
  for (const [arch, dataset] of pairs) {
    const pair = `${arch}/${dataset}`;
    const f = facts(arch, dataset);
    if (!f || speeds.has(pair)) continue;
    const key = `${machine}|${pair}|batch ${SPEED_BATCH}`;
    if (!cache[key]) {
      const spec = datasetSpec(dataset);
      const result = await benchStep({
        arch, bits: 2, quantizer: 'ewgs', batch: SPEED_BATCH, steps: SPEED_STEPS,
        input: { height: spec.height, width: spec.width, channels: spec.channels, classes: spec.classes },
      });
      cache[key] = {
        imagesPerSecond: result.imagesPerSecond, secondsPerMac: 1 / (result.imagesPerSecond * 4 * f.macsPerImage),
        measuredAt: new Date().toISOString(),
      };
      measured = true;
    }
    speeds.set(pair, cache[key]);
  }
  if (measured) {
    mkdirSync(dirname(cachePath), { recursive: true });
    writeFileAtomic(cachePath, `${JSON.stringify(cache, null, 2)}\n`);
  }
  return speeds;
}
