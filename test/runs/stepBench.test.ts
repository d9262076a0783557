// `npm run bench -- step` (DESIGN's contract): one SQAKD training step, reported as a JSON line with at least
// imagesPerSecond and backend; with --repeat, the medians of alternating runs; with --bits 32, a full-precision student.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { parseReferenceOutput } from '../../runs/pytorchReference.ts';
import { compareStepRuns, median } from '../../runs/stepComparison.ts';

describe('bench step', () => {
  it('prints the step throughput as its last line, in JSON, with its peak memory and, with --profile, each kernel\'s phases', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--arch', 'resnet20', '--bits', '2', '--batch', '16',
      '--steps', '1', '--no-reference', '--profile'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ benchmark: 'sqakd-step', backend: 'libtorch', arch: 'resnet20', bits: 2, batch: 16 });
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    expect(result.msPerStep).toBeGreaterThan(0);
    // A ResNet-20 and its batch cannot fit in less than the addon's own libraries take.
    expect(result.peakRssMiB).toBeGreaterThan(100);
    expect(run.stdout).toMatch(/peak resident memory: ours [\d.]+ MiB/);
    const phases = (kernel: string) => Object.keys(result.profile.rows.find((r: { kernel: string }) => r.kernel === kernel).msByPhase).sort();
    // ResNet-20 has 19 convolutions each for the teacher and the student; the first layer's input needs no gradient.
    expect(phases('Conv2D')).toEqual(['forward', 'teacher']);
    expect(result.profile.rows.find((r: { kernel: string }) => r.kernel === 'Conv2D').calls).toBe(38);
    expect(phases('Conv2DBackpropFilter')).toEqual(['backward']);
    expect(phases('FakeQuantizeGrad')).toEqual(['backward']);
    expect(phases('AdamUpdate')).toEqual(['optimizer']);
    expect(result.profile.outsideShare).toBeGreaterThan(0);
    expect(result.profile.outsideShare).toBeLessThan(1);
    expect(run.stdout).toMatch(/^Conv2DBackpropFilter +0\.0 +0\.0 +[\d.]+ /m);
  });

  it('rejects an architecture it does not know, listing the valid ones', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--arch', 'resnet21'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown architecture 'resnet21' \(did you mean 'resnet20'\?\) \(valid: .*resnet20/);
  });
});

describe('bench step --repeat and --bits 32', () => {
  it('takes the medians of alternating runs and the median of their ratios', () => {
    const c = compareStepRuns([100, 300, 200], [50, 100, 400]);
    expect(c).toEqual({
      repeat: 3, ours: [100, 300, 200], reference: [50, 100, 400], ratios: [2, 3, 0.5], oursMedian: 200, referenceMedian: 100, medianRatio: 2,
    });
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => compareStepRuns([1, 2], [1])).toThrow(/in pairs/);
  });

  it('times a full-precision student N times and reports the median step; --composite runs no fused kernel', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--arch', 'cnn-small', '--bits', '32', '--batch', '16',
      '--steps', '1', '--repeat', '3', '--no-reference', '--json', '--composite', '--profile'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ benchmark: 'sqakd-step', arch: 'cnn-small', bits: 32, batch: 16, repeat: 3, composite: true });
    // ReLU's gradient as tfjs composes it (step, then multiply) and Adam from plain ops.
    const kernels = result.profile.rows.map((r: { kernel: string }) => r.kernel);
    expect(kernels).toContain('Step');
    for (const fused of ['ReluGrad', 'AdamUpdate', 'BatchNormTraining']) expect(kernels).not.toContain(fused);
    expect(result.runs.ours).toHaveLength(3);
    // The figure quoted is the median run's.
    expect(result.imagesPerSecond).toBeCloseTo(16 / (result.msPerStep / 1000), 0);
    expect(Math.abs(result.imagesPerSecond - median(result.runs.ours)) / result.imagesPerSecond).toBeLessThan(0.01);
  });

  it('refuses bits outside 1-8 and 32, saying what is valid', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', 'step', '--bits', '16', '--no-reference'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/bits must be an integer from 1 to 8, got 16, or 32 for a full-precision student$/);
  });
});

describe('the reference\'s output', () => {
  it('reads the script\'s JSON line and the wrapper\'s peak memory, and says what is missing otherwise', () => {
    const line = JSON.stringify({ impl: 'pytorch-reference', msPerStep: 1000, imagesPerSecond: 256, threads: 2 });
    expect(parseReferenceOutput(`warming up\n${line}\n{"peakRssKiB": 2097152}\n`))
      .toMatchObject({ msPerStep: 1000, imagesPerSecond: 256, peakRssMiB: 2048 });
    expect(parseReferenceOutput('step done\n{"peakRssKiB": 1024}')).toMatch(/^the reference printed no result line .*"step done"$/);
    expect(parseReferenceOutput('')).toMatch(/printed no result line/);
  });
});
