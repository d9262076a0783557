// Where a run's result came from, for result.json: the code (package version, git commit and whether the checkout
// had uncommitted changes, tfjs and libtorch versions), the machine (backend, device, BLAS, threads, host) and when
// it ran. Nothing here may fail a run: what cannot be found out is recorded as null.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

import { describeBackend, type NumericEnvironment } from '../engine/index.ts';

export interface Provenance {
  packageVersion: string;
  /** HEAD of the package's own git checkout; null when it is not one (an installed package) or git is missing. */
  gitCommit: string | null;
  /** Whether that checkout had changes not committed (untracked files included); null with gitCommit. */
  gitDirty: boolean | null;
  tfjsVersion: string;
  /** The libtorch the addon was built against; null on tfjs's own backends. */
  libtorchVersion: string | null;
  backend: string;
  device: string;
  blas: string;
  threads: number | null;
  host: string;
  /** When the run's first attempt started (ISO 8601). */
  startedAt: string;
  /** When the last attempt started, if the run was resumed. */
  resumedAt?: string;
  finishedAt: string;
}

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface CodeVersion {
  packageVersion: string;
  gitCommit: string | null;
  gitDirty: boolean | null;
}

/** The package's git state; null when its folder is not the top of a checkout (or git is missing or fails). */
function gitState(): { commit: string; dirty: boolean } | null {
  const git = (...args: string[]) => execFileSync('git', args, {
    cwd: PACKAGE_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000,
  }).trim();
  try {
    // An installed copy inside someone else's repository would otherwise report that repository's commit.
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(PACKAGE_DIR)) return null;
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain') !== '' };
  } catch {
    return null;
  }
}

let codeVersion: CodeVersion | undefined;

/** The package version and git state (read once per process: the code does not change under a running process). */
export function currentCodeVersion(): CodeVersion {
  if (!codeVersion) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const git = gitState();
    codeVersion = { packageVersion: pkg.version, gitCommit: git?.commit ?? null, gitDirty: git?.dirty ?? null };
  }
  return codeVersion;
}

function libtorchVersion(backend: string): string | null {
  if (backend !== 'libtorch') return null;
  try {
    return String(describeBackend('libtorch').torch);
  } catch {
    return null;
  }
}

/** The provenance of a run that ran under `environment` and started (first attempt, last resume) at these times. */
export function runProvenance(environment: NumericEnvironment,
  times: { startedAt: string; resumedAt?: string; finishedAt: string }): Provenance {
  return {
    ...currentCodeVersion(), tfjsVersion: tf.version_core, libtorchVersion: libtorchVersion(environment.backend),
    backend: environment.backend, device: environment.device, blas: environment.blas, threads: environment.threads,
    host: hostname(), startedAt: times.startedAt, ...(times.resumedAt ? { resumedAt: times.resumedAt } : {}),
    finishedAt: times.finishedAt,
  };
}
