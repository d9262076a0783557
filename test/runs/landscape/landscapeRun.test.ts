// Landscapes of real trained models: a W2A2 SQAKD student of a synthetic-set teacher. The grid's centre is the
// model's own loss on the subset (evaluate.ts computes it independently), the same seed gives byte-identical files,
// the directions are filter-normalised on the model's kernels and zero on everything else, and on a quadratic the
// grid values, top eigenvalue and trace match their closed forms.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

import { datasetSpec } from '../../../datasets/registry.ts';
import { initBackend } from '../../../engine/index.ts';
import { evaluate } from '../../../runs/evaluate.ts';
import { disposeSubset, evaluationSubset, subsetImages } from '../../../runs/landscape/evaluationSubset.ts';
import { filterNorms, randomDirection } from '../../../runs/landscape/filterDirections.ts';
import { axisCoordinates, evaluateGrid, gridAxes } from '../../../runs/landscape/landscapeGrid.ts';
import { modelSpace } from '../../../runs/landscape/modelSpace.ts';
import { runLandscape } from '../../../runs/landscape/landscapeRun.ts';
import { benchLandscape } from '../../../runs/landscape/landscapeBench.ts';
import { flatOffsets } from '../../../runs/landscape/parameterSpace.ts';
import { hessianTrace, topEigenvalue } from '../../../runs/landscape/sharpness.ts';
import { loadTrainedModel } from '../../../runs/trainedModel.ts';
import { resolveTrainConfig } from '../../../runs/trainConfig.ts';
import { runTraining } from '../../../runs/trainer.ts';
import { gaussian, hessianWith, multiply, quadraticSpace, SIZE, SWEPT } from './quadraticSpace.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-landscape-'));
let backend: string;
let student: string;

const SMALL = { grid: 3, range: 0.5, subset: 96, seed: 3, radius: 0.25, traceSamples: 2, powerIterations: 2, batchSize: 64 };

beforeAll(async () => {
  backend = await initBackend('libtorch');
  const place = (out: string) => ({ out, dataDir: work, backend, progress: null, log: () => {} });
  runTraining(resolveTrainConfig({ recipe: 'synthetic-cnn-small', epochs: 1, trainImages: 256, seed: 1 }), place(join(work, 'teacher')));
  student = join(work, 'student', 'checkpoint.ckpt');
  runTraining(resolveTrainConfig({
    recipe: 'synthetic-cnn-small', method: 'sqakd', quantizer: 'ewgs', wBits: 2, aBits: 2, epochs: 1, trainImages: 256, seed: 1,
    teacher: join(work, 'teacher', 'checkpoint.ckpt'),
  }), place(join(work, 'student')));
});

describe('landscape of a trained W2A2 student', () => {
  it('has the model\'s own loss at its centre, and the same bytes for the same seed', () => {
    const request = { checkpoint: student, dataDir: work, losses: ['ce', 'kl', 'ce+kl', 'acc'], ...SMALL };
    const first = runLandscape({ ...request, out: join(work, 'ls-a') })!;
    runLandscape({ ...request, out: join(work, 'ls-b') });
    const bytes = (dir: string, f: string) => readFileSync(join(work, dir, f), 'utf8');
    expect(bytes('ls-b', 'landscape.json')).toBe(bytes('ls-a', 'landscape.json'));
    expect(bytes('ls-b', 'landscape.csv')).toBe(bytes('ls-a', 'landscape.csv'));

    // The centre of the 3 x 3 grid is the trained point: the model's cross-entropy and top-1 on the same images.
    const { model } = loadTrainedModel(student);
    const spec = datasetSpec('synthetic');
    const { images } = subsetImages(spec.load(work, 'test'), SMALL.subset, SMALL.seed);
    const own = evaluate(model, images, spec, 64);
    model.dispose();
    expect(first.losses.ce[1][1]).toBeCloseTo(own.loss, 4);
    expect(first.centre.ce).toBeCloseTo(own.loss, 4);
    expect(first.losses.acc[1][1]).toBeCloseTo(own.top1, 6);
    expect(first.losses['ce+kl'][1][1]).toBeCloseTo(first.losses.ce[1][1] + first.losses.kl[1][1], 4);
    // Away from the centre the loss changes, and every number is finite.
    expect(first.losses.ce[0][0]).not.toBeCloseTo(first.losses.ce[1][1], 4);
    for (const loss of ['ce', 'kl', 'ce+kl']) {
      const s = first.sharpness[loss];
      for (const v of [s.topEigenvalue, s.trace, s.traceStdError, s.circleRise]) expect(Number.isFinite(v)).toBe(true);
    }
    expect(first.directions.description).toMatch(/biases, batch-norm .* zero direction/);
    expect(first.data.subset).toBe(SMALL.subset);
  });

  it('gives the same bytes when killed after a chunk and run again, and when two worker processes share the grid', async () => {
    const request = { checkpoint: student, dataDir: work, losses: ['ce', 'kl', 'acc'], ...SMALL, grid: 4, chunkSize: 3 };
    runLandscape({ ...request, out: join(work, 'whole') });
    const killed = join(work, 'killed');
    expect(() => runLandscape({ ...request, out: killed, afterChunk: (k) => { if (k === 2) throw new Error('killed'); } })).toThrow('killed');
    // Three chunks of 3 points were saved, nothing else.
    expect(readdirSync(join(killed, 'chunks')).sort()).toEqual(['chunk-0.json', 'chunk-1.json', 'chunk-2.json']);
    expect(existsSync(join(killed, 'landscape.json'))).toBe(false);
    let evaluated = 0;
    runLandscape({ ...request, out: killed, afterChunk: () => { evaluated++; } });
    expect(evaluated).toBe(Math.ceil(16 / 3) - 3);
    expect(readFileSync(join(killed, 'landscape.json'), 'utf8')).toBe(readFileSync(join(work, 'whole', 'landscape.json'), 'utf8'));
    expect(existsSync(join(killed, 'chunks'))).toBe(false);

    // Two worker processes on the command line, at this process's thread count (every core), give the same bytes.
    const two = await execa('node', ['bin/sqakd.js', 'landscape', '--checkpoint', student, '--out', join(work, 'cli-two'),
      '--data-dir', work, '--loss', 'ce,kl,acc', '--grid', '4', '--range', '0.5', '--subset', '96', '--seed', '3', '--radius', '0.25',
      '--trace-samples', '2', '--power-iterations', '2', '--batch-size', '64', '--chunk-size', '3', '--workers', '2',
      '--threads', String(availableParallelism())], { reject: false, all: true });
    expect(two.exitCode, two.all).toBe(0);
    expect(two.all).toMatch(new RegExp(`2 workers evaluated the grid \\(${availableParallelism()} thread\\(s\\) each\\)`));
    expect(readFileSync(join(work, 'cli-two', 'landscape.json'), 'utf8')).toBe(readFileSync(join(work, 'whole', 'landscape.json'), 'utf8'));
    expect(two.all).toMatch(/^ce: centre \d+\.\d{4}, top eigenvalue /m);
  });

  it('normalises the directions filter by filter on the kernels and leaves everything else at zero', () => {
    const { model } = loadTrainedModel(student);
    const spec = datasetSpec('synthetic');
    const subset = evaluationSubset(spec.load(work, 'test'), spec, { count: 32, seed: 1, batchSize: 32, teacher: null });
    const space = modelSpace(model, subset, { temperature: 4, weights: { ce: 1, kl: 1 } });
    const theta = space.get();
    const d = randomDirection(space, theta, 11);
    const offsets = flatOffsets(space.tensors);
    const named = model.namedParameters();
    let swept = 0;
    space.tensors.forEach((t, i) => {
      const p = named[i];
      expect(t.name).toBe(p.name);
      if (t.swept) {
        swept++;
        expect(p.group).toBe('model');
        expect(t.shape.length).toBeGreaterThanOrEqual(2);
        const ours = filterNorms(space, d, i);
        const trained = filterNorms(space, theta, i);
        ours.forEach((n, j) => expect(n).toBeCloseTo(trained[j], 4));
      } else {
        // Biases, batch-norm scale and shift, and the quantizers' learned bounds.
        expect(p.group === 'quantizer' || t.shape.length < 2).toBe(true);
        expect(d.subarray(offsets[i], offsets[i] + p.variable.size).every((v) => v === 0)).toBe(true);
      }
    });
    expect(swept).toBeGreaterThanOrEqual(4);
    expect(named.some((p) => p.group === 'quantizer')).toBe(true);
    disposeSubset(subset);
    model.dispose();
  });
});

describe('bench landscape', () => {
  it('times grid points and the same model\'s training step, and reports their ratio', async () => {
    const r = await benchLandscape({ arch: 'cnn-small', bits: 2, quantizer: 'ewgs', subset: 64, batch: 32, points: 2 });
    expect(r.benchmark).toBe('landscape-grid');
    expect(r.msPerPoint).toBeGreaterThan(0);
    // The figures agree with each other: images per point over the time per point, and the ratio of the two speeds.
    // msPerPoint is rounded to 0.1 ms, hence a relative tolerance.
    expect(Math.abs(r.imagesPerSecond - 64 / (r.msPerPoint / 1000)) / r.imagesPerSecond).toBeLessThan(0.02);
    expect(r.trainingStepImagesPerSecond).toBeGreaterThan(0);
    expect(Math.abs(r.speedupVsTrainingStep - r.imagesPerSecond / r.trainingStepImagesPerSecond)).toBeLessThanOrEqual(0.01);
    // A gradient costs more than a forward pass; the default sweep's estimate is its 441 + 17 evaluations and
    // 3 losses x 28 products (two gradients each, or one and one per loss at the trained point).
    expect(r.msPerGradient).toBeGreaterThan(r.msPerPoint);
    const central = (458 * r.msPerPoint + 168 * r.msPerGradient) / 1000;
    const forward = (458 * r.msPerPoint + 87 * r.msPerGradient) / 1000;
    expect(Math.abs(r.defaultSweepSeconds.central - central)).toBeLessThanOrEqual(0.5 + 0.001 * central);
    expect(Math.abs(r.defaultSweepSeconds.forward - forward)).toBeLessThanOrEqual(0.5 + 0.001 * forward);
  });
});

describe('landscape bad input', () => {
  it('refuses an unknown loss, and KL losses of a model without a teacher, before evaluating anything', () => {
    const base = { checkpoint: student, dataDir: work, ...SMALL };
    expect(() => runLandscape({ ...base, losses: ['ce', 'hessian'], out: join(work, 'bad-1') }))
      .toThrow(/^--loss: unknown loss 'hessian' \(valid: ce, kl, ce\+kl, acc\)$/);
    const teacher = join(work, 'teacher', 'checkpoint.ckpt');
    expect(() => runLandscape({ ...base, checkpoint: teacher, losses: ['kl'], out: join(work, 'bad-2') }))
      .toThrow(/need a teacher: .* records none; give --teacher <checkpoint>/);
    expect(() => runLandscape({ ...base, losses: ['ce'], grid: 1, out: join(work, 'bad-3') })).toThrow(/^--grid must be an integer of at least 2, got 1$/);
    expect(() => runLandscape({ ...base, losses: ['ce'], range: 0, out: join(work, 'bad-4') })).toThrow(/^--range must be a positive number, got 0$/);
    expect(() => runLandscape({ ...base, losses: ['ce'], interpolateFrom: join(work, 'teacher', 'checkpoint.ckpt'), out: join(work, 'bad-5') }))
      .toThrow(/--interpolate-from .* is not a checkpoint of this model: its parameters differ/);
    for (const k of [1, 2, 3, 4]) expect(existsSync(join(work, `bad-${k}`))).toBe(false);
  });
});

describe('landscape of a quadratic', () => {
  it('gives the closed-form grid values, top eigenvalue and trace', () => {
    // Eigenvalues 1..12 on the swept block, rotated by a reflection so that the Hessian is not diagonal.
    const A = hessianWith(SWEPT.map((_, k) => 1 + (k % 12)), { reflect: true, coupling: 0, seed: 5 });
    const centre = gaussian(SIZE, 6, 0.1);
    const theta = Float32Array.from(gaussian(SIZE, 7));
    const space = quadraticSpace({ q: { hessian: A, centre } }, theta);
    const d1 = randomDirection(space, theta, 1);
    const d2 = randomDirection(space, theta, 2);
    const axes = gridAxes(5, 1, true);
    expect(axes.a).toEqual(axisCoordinates(5, 1));
    const values = evaluateGrid(space, theta, d1, d2, axes, { from: 0, to: 25 });
    const exact = (a: number, b: number) => {
      const x = Array.from(theta, (t, i) => t + a * d1[i] + b * d2[i] - centre[i]);
      const ax = multiply(A, x);
      return 0.5 * x.reduce((sum, xi, i) => sum + xi * ax[i], 0);
    };
    values.forEach((v, index) => {
      const want = exact(axes.a[index % 5], axes.b[Math.floor(index / 5)]);
      expect(Math.abs(v.q - want) / Math.abs(want)).toBeLessThan(1e-5);
    });
    // The swept block's eigenvalues and trace, from the matrix itself.
    const block = SWEPT.map((i) => SWEPT.map((j) => A[i * SIZE + j]));
    const trace = block.reduce((s, row, i) => s + row[i], 0);
    const top = powerOfMatrix(block);
    expect(topEigenvalue(space, 'q', theta, { iterations: 200, tolerance: 1e-7, seed: 1 }).value).toBeCloseTo(top, 2);
    const estimate = hessianTrace(space, 'q', theta, { samples: 64, seed: 1 });
    expect(Math.abs(estimate.value - trace)).toBeLessThan(4 * estimate.stdError);
  });
});

/** The largest eigenvalue of a symmetric positive matrix, by plain power iteration in float64 (the test's own). */
function powerOfMatrix(m: number[][]): number {
  let v = m.map(() => 1);
  let lambda = 0;
  for (let k = 0; k < 2000; k++) {
    const w = m.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
    const norm = Math.hypot(...w);
    lambda = w.reduce((s, x, i) => s + x * v[i], 0) / v.reduce((s, x) => s + x * x, 0);
    v = w.map((x) => x / norm);
  }
  return lambda;
}
