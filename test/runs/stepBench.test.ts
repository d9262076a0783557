// `npm run bench -- step` (DESIGN's contract): one SQAKD training step, reported as a JSON line with at least
// imagesPerSecond and backend.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

describe('bench step', () => {
  it('prints the step throughput as its last line, in JSON', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--arch', 'resnet20', '--bits', '2', '--batch', '16',
      '--steps', '1', '--no-reference', '--json'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ benchmark: 'sqakd-step', backend: 'libtorch', arch: 'resnet20', bits: 2, batch: 16 });
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    expect(result.msPerStep).toBeGreaterThan(0);
  });

  it('rejects an architecture it does not know, listing the valid ones', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--arch', 'resnet21'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown architecture 'resnet21' \(did you mean 'resnet20'\?\) \(valid: .*resnet20/);
  });
});
