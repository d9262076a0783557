// Scale-out through a real Redis server on loopback: the same small matrix run by the local pool and by the Redis
// queue with two `sqakd worker` processes gives identical results (same cells, same numbers, epoch by epoch).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cellDirs, resultOf, smallMatrix, sqakd } from '../../support/matrixRuns.ts';

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
  it('runs a matrix through two worker processes with the same results as the local pool', async () => {
    const { work, spec } = smallMatrix('redis', ['ce', 'sqakd', 'rkd'], 2);
    const common = ['matrix', '--spec', spec, '--reports-dir', join(work, 'reports')];

    const local = await sqakd([...common, '--runs-dir', join(work, 'local'), '--workers', '2', '--threads', '1']);
    expect(local.exitCode, local.all).toBe(0);

    const queueName = `test-${port}`;
    const workers = [0, 1].map(() => sqakd(['worker', '--redis', url, '--queue-name', queueName, '--threads', '1']));
    try {
      const queued = await sqakd([...common, '--runs-dir', join(work, 'queued'), '--queue', 'redis', '--redis', url, '--queue-name', queueName]);
      expect(queued.exitCode, queued.all).toBe(0);
      expect(queued.all).toMatch(/Redis queue/);
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
    for (const [i, dir] of localDirs.entries()) {
      const a = resultOf(dir)!;
      const b = resultOf(queuedDirs[i])!;
      expect(b.top1).toBe(a.top1);
      expect(b.history.map((h) => [h.trainLoss, h.top1])).toEqual(a.history.map((h) => [h.trainLoss, h.top1]));
    }
  });
});
