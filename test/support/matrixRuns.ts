// Helpers for tests that run real matrices through `sqakd matrix` in child processes: a small spec on the
// synthetic set, the run store's files, and polling.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa, type ResultPromise } from 'execa';

import type { RunResult } from '../../runs/trainer.ts';
import type { CellAttempt } from '../../runs/matrix/runStore.ts';

export const CLI = 'bin/sqakd.js';

/** A fresh folder with a small matrix spec: a cnn-small teacher and quantized students on part of the synthetic set. */
export function smallMatrix(prefix: string, methods: string[], epochs = 3, teacherEpochs = 1): { work: string; spec: string } {
  const work = mkdtempSync(join(tmpdir(), `sqakd-${prefix}-`));
  const spec = join(work, 'tiny.json');
  writeFileSync(spec, JSON.stringify({
    grid: { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: methods },
    epochs, teacherEpochs, trainImages: 640, batchSize: 64,
  }));
  return { work, spec };
}

/** Starts `sqakd <args>` from the repository root; resolves to its result, never throws on a non-zero exit. */
export function sqakd(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
  return execa(process.execPath, [CLI, ...args], { reject: false, all: true, env });
}

/** The cells' folders of a matrix. */
export function cellDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(root, d.name));
}

export function resultOf(dir: string): RunResult | undefined {
  const path = join(dir, 'result.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as RunResult : undefined;
}

export function attemptsOf(dir: string): CellAttempt[] {
  const path = join(dir, 'attempts.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CellAttempt) : [];
}

export function epochsLogged(dir: string): number {
  const path = join(dir, 'log.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
}

/** Polls `condition` every 100 ms until it returns a value, or fails after `seconds`. */
export async function waitFor<T>(what: string, condition: () => T | undefined | false, seconds = 300): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
