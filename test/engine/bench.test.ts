// The engine benchmark: libtorch trains a ResNet-20-sized conv layer at least 500x faster per image than tfjs's
// cpu backend, and adds at most 30% to the same ATen calls made directly from C++.
import { spawnSync } from 'node:child_process';

import { beforeAll, describe, expect, it } from 'vitest';

import { benchEngine, initBackend } from '../../engine/index.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

describe('engine benchmark', () => {
  it('is >= 500x faster per image than the cpu backend and within 1.3x of direct ATen', async () => {
    const result = await benchEngine({ batch: 256, cpuBatch: 2, rounds: 15, stepsPerRound: 2, skipCpu: false });
    console.log(JSON.stringify(result));
    expect(result.backend).toBe('libtorch');
    expect(result.perImageSpeedupVsCpu).toBeGreaterThanOrEqual(500);
    expect(result.overheadVsDirectAten).toBeLessThanOrEqual(1.3);
  });

  it('prints its result as a JSON line last from `npm run bench -- engine --json`', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'engine', '--json', '--batch', '16', '--cpu-batch', '1',
      '--rounds', '1', '--steps', '1'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    for (const field of ['backend', 'perImageSpeedupVsCpu', 'overheadVsDirectAten', 'imagesPerSecond']) {
      expect(result).toHaveProperty(field);
    }
    expect(result.backend).toBe('libtorch');
    expect(result.batch).toBe(16);
  });
});
