// Runs ../shared/bench/reference_step.py (the PyTorch version of one SQAKD step) beside our own step benchmark,
// when a Python with PyTorch is on this machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface ReferenceResult {
  impl: string;
  torch: string;
  msPerStep: number;
  imagesPerSecond: number;
  threads: number;
  channelsLast: boolean;
}

const CONVENTIONAL = fileURLToPath(new URL('../../shared/bench/reference_step.py', import.meta.url));

/** The reference script: the given path, $SQAKD_REFERENCE_STEP, or ../shared/bench/reference_step.py. */
export function referenceScript(given?: string): string | undefined {
  const path = given ?? process.env.SQAKD_REFERENCE_STEP ?? CONVENTIONAL;
  if (given && !existsSync(given)) throw new Error(`reference script ${given} does not exist`);
  return existsSync(path) ? path : undefined;
}

/** A python executable that can import torch, if any. */
export function pythonWithTorch(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Runs the reference with the same settings; returns its JSON line, or the reason it could not run. */
export function runReference(script: string, options: { arch: string; bits: number; batch: number; steps: number;
  channelsLast?: boolean }): ReferenceResult | string {
  const python = pythonWithTorch();
  if (!python) return 'no python with PyTorch (Debian: apt-get install python3-torch)';
  const args = [script, '--arch', options.arch, '--bits', String(options.bits), '--batch', String(options.batch),
    '--steps', String(options.steps), '--threads', String(availableParallelism())];
  if (options.channelsLast) args.push('--channels-last');
  const run = spawnSync(python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `the reference failed: ${(run.stderr || '').trim().split('\n').at(-1)}`;
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as ReferenceResult;
}
