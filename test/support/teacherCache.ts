// One trained teacher per configuration, shared by every test file and every run of the suite on this machine.
// A teacher is stored under its matrix cell identity (architecture, dataset, seed and the hash of its resolved
// configuration), so a changed recipe or trainer setting names a new folder. What is found there is trusted only
// after checking: the checkpoint's bytes against the digest written when it was trained, the stored configuration
// and data folder against the ones asked for, and the checkpoint read back whole. Anything else is retrained.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { canonicalJson } from '../../runs/canonicalJson.ts';
import { loadCheckpoint } from '../../runs/checkpoint.ts';
import { teacherCellId } from '../../runs/matrix/plan.ts';
import { FULL_PRECISION, resolveTrainConfig, type TrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { type RunResult, runTraining } from '../../runs/trainer.ts';

const CHECKPOINT = 'checkpoint.ckpt';
const MANIFEST = 'cache.json';

export interface CachedTeacher {
  /** The teacher's checkpoint, to pass as a student's `teacher`. */
  checkpoint: string;
  result: RunResult;
  /** Whether this call trained it (false: a verified copy from an earlier call or run was reused). */
  trained: boolean;
}

interface Manifest {
  config: TrainConfig;
  dataDir: string;
  checkpointSha256: string;
}

/** The cache folder: $SQAKD_TEST_CACHE, else `.cache/teachers` in the repository (git-ignored). */
export function teacherCacheDir(): string {
  return resolve(process.env.SQAKD_TEST_CACHE ?? join(import.meta.dirname, '..', '..', '.cache', 'teachers'));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Why the cached folder cannot be used, or null when it holds exactly the teacher asked for. */
function cacheProblem(dir: string, config: TrainConfig, dataDir: string): string | null {
  const manifestPath = join(dir, MANIFEST);
  if (!existsSync(manifestPath)) return 'not cached';
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (canonicalJson(manifest.config) !== canonicalJson(config)) return 'trained with another configuration';
    if (manifest.dataDir !== dataDir) return `trained on ${manifest.dataDir}, not ${dataDir}`;
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    if (canonicalJson(result.config) !== canonicalJson(config)) return 'result.json holds another configuration';
    if (sha256(join(dir, CHECKPOINT)) !== manifest.checkpointSha256) return 'checkpoint differs from the one trained';
    for (const t of loadCheckpoint(join(dir, CHECKPOINT)).tensors.values()) t.dispose();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The teacher a request describes (full precision, CE): reused from the cache when a verified copy is there,
 * otherwise trained into a temporary folder and moved into place, so an interrupted training leaves nothing behind.
 */
export function cachedTeacher(
  request: TrainRequest, place: { dataDir: string; backend: string; cacheDir?: string; log?: (line: string) => void },
): CachedTeacher {
  const config = resolveTrainConfig({ ...request, quantizer: FULL_PRECISION, method: 'ce' });
  const dataDir = resolve(place.dataDir);
  const cacheDir = place.cacheDir ?? teacherCacheDir();
  const dir = join(cacheDir, teacherCellId(config));
  const problem = cacheProblem(dir, config, dataDir);
  if (problem === null) {
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    return { checkpoint: join(dir, CHECKPOINT), result, trained: false };
  }
  place.log?.(`teacher cache ${dir}: ${problem}; training it`);
  const staging = `${dir}.training-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const result = runTraining(config, { out: staging, dataDir, backend: place.backend, progress: null, log: () => {} });
  const manifest: Manifest = { config, dataDir, checkpointSha256: sha256(join(staging, CHECKPOINT)) };
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return { checkpoint: join(dir, CHECKPOINT), result, trained: true };
}

/** The synthetic-set cnn-small teacher the mechanism tests share: one epoch over the first 2,000 images. */
export const SYNTHETIC_TEACHER: TrainRequest = { recipe: 'synthetic-cnn-small', seed: 1, epochs: 1, trainImages: 2000 };

/** The MNIST cnn-small teacher of the distillation tests: three epochs over all 60,000 images (98.9%). */
export const MNIST_TEACHER: TrainRequest = { recipe: 'mnist-cnn-small', seed: 1, epochs: 3 };
