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
  return parseReferenceOutput(run.stdout);
}

/**
 * The reference's result from its output: the script's JSON line, then the wrapper's peak-memory line; a string
 * saying what is missing when the script (e.g. one given with --reference) printed something else.
 */
export function parseReferenceOutput(stdout: string): ReferenceResult | string {
  const lines = stdout.trim().split('\n');
  const json = (line: string | undefined): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(line ?? '');
      return value && typeof value === 'object' ? value as Record<string, unknown> : undefined;
    } catch {
      return undefined;
    }
  };
  const peak = json(lines.at(-1));
  const result = json(lines.at(-2));
  if (typeof peak?.peakRssKiB !== 'number' || typeof result?.imagesPerSecond !== 'number' || typeof result.msPerStep !== 'number') {
    return `the reference printed no result line (a JSON object with imagesPerSecond and msPerStep); its last line: ` +
      `${JSON.stringify(lines.at(-2) ?? '')}`;
  }
  return { ...(result as unknown as ReferenceResult), peakRssMiB: Number((peak.peakRssKiB / 1024).toFixed(1)) };
}
