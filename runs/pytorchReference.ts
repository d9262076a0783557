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
  /** The reference process's peak resident memory (measured by our wrapper around the script). */
  peakRssMiB: number;
}

// Runs the script as its own __main__ and then prints the process's peak resident memory (ru_maxrss, KiB on
// Linux) as one more JSON line, so the script itself need not know about it.
const WITH_PEAK_RSS = 'import json, resource, runpy, sys; sys.argv = sys.argv[1:]; ' +
  "runpy.run_path(sys.argv[0], run_name='__main__'); " +
  "print(json.dumps({'peakRssKiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))";

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
  const args = ['-c', WITH_PEAK_RSS, script, '--arch', options.arch, '--bits', String(options.bits), '--batch', String(options.batch),
    '--steps', String(options.steps), '--threads', String(availableParallelism())];
  if (options.channelsLast) args.push('--channels-last');
  const run = spawnSync(python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `the reference failed: ${(run.stderr || '').trim().split('\n').at(-1)}`;
  const lines = run.stdout.trim().split('\n');
  const { peakRssKiB } = JSON.parse(lines.at(-1)!) as { peakRssKiB: number };
  const result = JSON.parse(lines.at(-2)!) as Omit<ReferenceResult, 'peakRssMiB'>;
  return { ...result, peakRssMiB: Number((peakRssKiB / 1024).toFixed(1)) };
}
