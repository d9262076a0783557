// Scale-out through a real Redis server on loopback: the same small matrix run by the local pool and by the Redis
// queue with two `sqakd worker` processes gives identical results (same cells, same numbers, epoch by epoch), even
// when the runner is killed while its cells are queued and running, and started again: it waits for the jobs it
// queued before, so no cell runs twice and none is failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { attemptsOf, cellDirs, resultOf, smallMatrix, sqakd, waitFor } from '../../support/matrixRuns.ts';

const port = 20000 + Math.floor(Math.random() * 20000);
const url = `redis://127.0.0.1:${port}`;
let redis: ChildProcess;

/** Starts redis-server on loopback without persistence; resolves when it accepts connections. */
function startRedis(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.on('error', (e) => reject(new Error(`cannot start redis-server (scripts/setup.sh installs it): ${e.message}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output}`)));
  });
}

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(() => {
  redis?.kill('SIGTERM');
});

describe('Redis queue', () => {
  it('runs a matrix through two worker processes, its runner killed and restarted, with the local pool\'s results', async () => {
    const { work, spec } = smallMatrix('redis', ['ce', 'sqakd', 'rkd'], 2);
    const common = ['matrix', '--spec', spec, '--reports-dir', join(work, 'reports')];

    const local = await sqakd([...common, '--runs-dir', join(work, 'local'), '--workers', '2', '--threads', '1']);
    expect(local.exitCode, local.all).toBe(0);

    const queueName = `test-${port}`;
    const workers = [0, 1].map(() => sqakd(['worker', '--redis', url, '--queue-name', queueName, '--threads', '1']));
    const queuedArgs = [...common, '--runs-dir', join(work, 'queued'), '--queue', 'redis', '--redis', url, '--queue-name', queueName];
    const queuedRoot = join(work, 'queued', 'tiny');
    try {
      const first = sqakd(queuedArgs);
      await waitFor('a student running on a worker', () => cellDirs(queuedRoot)
        .some((d) => !basename(d).startsWith('teacher') && attemptsOf(d).length > 0 && !existsSync(join(d, 'result.json'))));
      first.kill('SIGKILL');
      await first;
      const queued = await sqakd(queuedArgs);
      expect(queued.exitCode, queued.all).toBe(0);
      expect(queued.all).toMatch(/Redis queue/);
      // It waited for cells that were still queued or running when its predecessor died.
      expect(Number(/(\d+) cell\(s\) run/.exec(queued.all)?.[1]), queued.all).toBeGreaterThanOrEqual(1);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
    }
    const logs = await Promise.all(workers);
    // Both workers took part.
    for (const w of logs) expect(w.all).toMatch(/start /);

    const localDirs = cellDirs(join(work, 'local', 'tiny'));
    const queuedDirs = cellDirs(join(work, 'queued', 'tiny'));
    expect(queuedDirs.map((d) => d.split('/').at(-1))).toEqual(localDirs.map((d) => d.split('/').at(-1)));
    expect(localDirs).toHaveLength(4);
    // Every cell ran once: none was queued twice by the restarted runner.
    for (const dir of queuedDirs) expect(attemptsOf(dir), dir).toHaveLength(1);
    for (const [i, dir] of localDirs.entries()) {
      const a = resultOf(dir)!;
      const b = resultOf(queuedDirs[i])!;
      expect(b.top1).toBe(a.top1);
      expect(b.history.map((h) => [h.trainLoss, h.top1])).toEqual(a.history.map((h) => [h.trainLoss, h.top1]));
    }
  });
});
