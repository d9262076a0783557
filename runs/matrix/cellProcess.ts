// One cell in its own worker process (`sqakd run-cell <folder>`), started with execa: a crash, an out-of-memory
// kill or a native fault ends that process, never the runner. Its stdout and stderr are appended to the cell's
// worker.log. Both the local pool and the Redis queue workers run cells this way.
import { fileURLToPath } from 'node:url';

import { execa } from 'execa';

import type { CellOutcome } from './cellExecutor.ts';
import { CELL_BUSY_EXIT, RUNNER_GONE_EXIT } from './exitCodes.ts';

export interface CellProcessOptions {
  dataDir: string;
  /** Backend request passed on (auto when absent). */
  backend?: string;
  /** Intra-op threads of the worker (SQAKD_THREADS); its share of the cores. */
  threads?: number;
  /** The GPU the worker may see (CUDA_VISIBLE_DEVICES), when the machine has several. */
  gpu?: number;
  /** Let a cell resume under another numeric environment, recording it (--allow-env-change). */
  allowEnvChange?: boolean;
}

const CLI = fileURLToPath(new URL('../../bin/sqakd.js', import.meta.url));

/** Runs the cell in `dir` in a child process, its output appended to `logPath`; resolves when it ends. */
export async function runCellProcess(dir: string, logPath: string, options: CellProcessOptions): Promise<CellOutcome> {
  const args = [CLI, 'run-cell', dir, '--data-dir', options.dataDir, ...(options.backend ? ['--backend', options.backend] : []),
    ...(options.allowEnvChange ? ['--allow-env-change'] : [])];
  const env: Record<string, string> = {};
  if (options.threads !== undefined) env.SQAKD_THREADS = String(options.threads);
  if (options.gpu !== undefined) env.CUDA_VISIBLE_DEVICES = String(options.gpu);
  const log = { file: logPath, append: true } as const;
  const result = await execa(process.execPath, args, { env, stdin: 'ignore', stdout: log, stderr: log, reject: false });
  if (result.exitCode === 0) return { ok: true };
  if (result.exitCode === CELL_BUSY_EXIT) return { ok: false, busy: true, error: 'another live worker holds the cell' };
  if (result.exitCode === RUNNER_GONE_EXIT) return { ok: false, error: 'the worker stopped: the process that started it is gone' };
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  return { ok: false, error: `the worker process ${how}` };
}
