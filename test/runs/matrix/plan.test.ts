// Matrix specs and plans: every problem of a bad spec is listed before anything runs; teachers are shared; a
// cell's identity follows its resolved configuration; presets name the paper's grids; --epochs-scale shrinks them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { sameCellConfig, teacherCellPath, trainerConfig } from '../../../runs/matrix/cellConfig.ts';
import {
  assembleMatrixSpec, type MatrixSpec, MatrixSpecError, overrideAxes, readMatrixSpecFile, restrictAxes, validateMatrixSpec,
} from '../../../runs/matrix/matrixSpec.ts';
import { type MatrixPlan, planMatrix } from '../../../runs/matrix/plan.ts';
import { PRESETS, presetSpec } from '../../../runs/matrix/presets.ts';
import { effectiveWarmup, learningRateAt } from '../../../runs/optim/schedule.ts';
import { RECIPES } from '../../../runs/recipes.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-plan-'));
// A data directory whose dataset folders exist (planning never reads them).
const dataDir = join(work, 'data');
for (const folder of ['mnist', 'cifar-10-batches-bin', 'cifar-100-binary', 'tiny-imagenet-200']) mkdirSync(join(dataDir, folder), { recursive: true });

function plan(raw: unknown, data = dataDir): MatrixPlan {
  return planMatrix(validateMatrixSpec(raw, 'test'), { runsDir: join(work, 'runs'), dataDir: data });
}

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MatrixSpecError);
    return (e as MatrixSpecError).problems;
  }
  throw new Error('expected the spec to be rejected');
}

const grid = { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] };

describe('matrix spec validation', () => {
  it('lists every structural problem at once', () => {
    const problems = problemsOf(() => validateMatrixSpec({
      grid: { ...grid, bits: ['W2A2', 'two'], colour: ['red'] }, epochs: -1, epochsScale: 'fast', flavour: 1,
      exclude: [{ size: 'big' }],
    }, 'test'));
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^unknown key 'flavour'/), expect.stringMatching(/^grid: unknown key 'colour'/),
      expect.stringMatching(/^grid\.bits\[1\]: must be bit widths like W2A2 .*, got "two"$/),
      expect.stringMatching(/^epochs: must be a positive integer, got -1$/),
      expect.stringMatching(/^epochsScale: must be a positive number, got "fast"$/), expect.stringMatching(/^exclude\[0\]: unknown key 'size'/),
    ]));
    expect(problems).toHaveLength(6);
  });

  it('names an empty axis, a repeated value and a seed that is not a non-negative integer as such', () => {
    // Issue 14: an empty axis was reported as an --only problem, a repeated seed ran once silently, and --set
    // seed=a said "seed NaN".
    expect(assembleMatrixSpec({ grid: { ...grid, method: [] } }, 'test').problems)
      .toEqual(['grid.method: must list at least one value, got []']);
    expect(assembleMatrixSpec({ grid: { ...grid, seed: [1, 2, 1] } }, 'test').problems)
      .toEqual(['grid.seed[2]: 1 is listed twice (each value names one cell)']);
    expect(assembleMatrixSpec({ grid: { ...grid, method: ['ce', 'ce'] } }, 'test').problems)
      .toEqual(['grid.method[1]: "ce" is listed twice (each value names one cell)']);
    expect(assembleMatrixSpec({ grid: { ...grid, seed: ['a', 1.5] } }, 'test').problems).toEqual([
      'grid.seed[0]: must be a non-negative integer, got "a"', 'grid.seed[1]: must be a non-negative integer, got 1.5',
    ]);
    expect(assembleMatrixSpec({ grid }, 'test', { set: ['seed=a,-1'] }).problems).toEqual([
      "--set seed=a,-1: seed 'a' must be a non-negative integer", "--set seed=a,-1: seed '-1' must be a non-negative integer",
    ]);
    expect(assembleMatrixSpec({ grid }, 'test', { set: ['seed=3,3'] }).problems).toEqual(["--set seed=3,3: seed '3' is listed twice"]);
    expect(assembleMatrixSpec({ grid }, 'test', { only: ['seed=2'] }).problems).toEqual(['--only seed=2 leaves no cell in the matrix']);
  });

  it('rejects unknown axis values, impossible combinations and missing data before anything runs, listing all', () => {
    const empty = join(work, 'empty-data');
    mkdirSync(empty, { recursive: true });
    const problems = problemsOf(() => plan({
      grids: [
        { dataset: 'synthetic', arch: ['cnn-small', 'resnet21'], quantizer: ['ewgs', 'pcat'], bits: ['W2A2', 'W9A9'],
          method: ['ce', 'sqakd', 'ce:label-free', 'fsp:label-free', 'distill'] },
        { dataset: ['cifar10', 'imagenet'], arch: 'resnet20', quantizer: 'ewgs', bits: ['W2A2'], method: ['sqakd'] },
      ],
    }, empty));
    const text = problems.join('\n');
    expect(text).toMatch(/grids\[0\]\.arch\[1\]: unknown architecture 'resnet21' \(did you mean 'resnet20'\?\) \(valid: .*resnet20/);
    expect(text).toMatch(/grids\[0\]\.quantizer\[1\]: unknown quantizer 'pcat' \(did you mean 'pact'\?\) \(valid: ewgs, pact, lsq, dorefa/);
    expect(text).toMatch(/weight bits of W9A9 must be an integer from 1 to 8/);
    expect(text).toMatch(/ce:label-free is not a variant/);
    expect(text).toMatch(/method fsp cannot run label-free: /);
    expect(text).toMatch(/unknown method 'distill' \(valid: ce, kd, sqakd/);
    expect(text).toMatch(new RegExp(`cifar10 not found: expected the folder ${join(empty, 'cifar-10-batches-bin')}`));
    expect(text).toMatch(/unknown dataset 'imagenet'/);
    // Each bad value once, not once per cell it would have made.
    expect(problems).toHaveLength(8);
  });

  it('rejects a method that reads taps the architecture lacks, naming them', () => {
    const spec = validateMatrixSpec({ grid: { ...grid, method: ['ce', 'at', 'fitnet'] } }, 'test');
    const problems = problemsOf(() => planMatrix(spec, {
      runsDir: join(work, 'runs'), dataDir, modelFacts: () => ({ tapNames: ['stem'], macsPerImage: 1e6 }),
    }));
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/method at reads taps .* but the architecture has taps/);
  });

  it('lists every kind of problem in one pass: structure, exclusions, command line, names, data and cells', () => {
    const empty = join(work, 'no-data');
    mkdirSync(empty, { recursive: true });
    const { spec, problems: early } = assembleMatrixSpec({
      grid: { dataset: ['synthetic', 'cifar10'], arch: ['cnn-small', 'resnet21'], quantizer: 'ewgs', bits: ['W2A2'],
        method: ['ce', 'at', 'fsp:label-free'] },
      flavour: 1,
      // A typo must not silently exclude nothing; a value only --set brings in is fine.
      exclude: [{ method: 'sqkad' }, { bits: '3/3' }, { method: 'kd', seed: 1 }],
    }, 'multi', { set: ['colour=red', 'method=ce,at,fsp:label-free,kd'], only: ['seed=1,x'] });
    const problems = problemsOf(() => planMatrix(spec, {
      runsDir: join(work, 'runs'), dataDir: empty, earlierProblems: early,
      modelFacts: () => ({ tapNames: ['stem'], macsPerImage: 1e6 }),
    }));
    const expected = [
      /^unknown key 'flavour'/, /^exclude\[0\]\.method: 'sqkad' is in no grid \(its values: ce, at, fsp:label-free, kd\)/,
      /^exclude\[1\]\.bits: 'W3A3' is in no grid \(its values: W2A2\)/, /^--set colour=red: expected axis=value/,
      /^--only seed=1,x: seed 'x' must be a non-negative integer/,
      /^grid\.arch\[1\]: unknown architecture 'resnet21'/,
      // A value --set brought in is reported against the --set, not a place in the file.
      /^--set method=ce,at,fsp:label-free,kd: method fsp cannot run label-free/,
      new RegExp(`cifar10 not found: expected the folder ${join(empty, 'cifar-10-batches-bin')}`),
      // Each valid cell is still resolved: AT reads taps the (stand-in) architecture lacks, on both datasets.
      /^synthetic cnn-small ewgs W2A2 at 1: method at reads taps/, /^cifar10 cnn-small ewgs W2A2 at 1: method at reads taps/,
    ];
    for (const pattern of expected) expect(problems, pattern.source).toEqual(expect.arrayContaining([expect.stringMatching(pattern)]));
    expect(problems).toHaveLength(expected.length);
  });

  it('sqakd matrix exits 2 (bad input) on a bad spec, listing every problem, before writing anything', () => {
    const specPath = join(work, 'bad.json');
    writeFileSync(specPath, JSON.stringify({
      grid: { ...grid, arch: 'resnet21', method: ['ce', 'fsp:label-free'] }, exclude: [{ quantizer: 'ewsg' }],
    }));
    const runsDir = join(work, 'bad-runs');
    const run = spawnSync(process.execPath, ['bin/sqakd.js', 'matrix', '--spec', specPath, '--runs-dir', runsDir],
      { encoding: 'utf8', env: { ...process.env, SQAKD_THREADS: '1' } });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/invalid matrix spec \(bad\): 3 problem\(s\)/);
    expect(run.stderr).toMatch(/exclude\[0\]\.quantizer: 'ewsg' is in no grid \(did you mean 'ewgs'\?\)/);
    expect(run.stderr).toMatch(/grid\.arch: unknown architecture 'resnet21' \(did you mean 'resnet20'\?\)/);
    expect(run.stderr).toMatch(/grid\.method\[1\]: method fsp cannot run label-free/);
    expect(existsSync(runsDir)).toBe(false);
  });

  it('reads YAML and JSON files, and command-line axis overrides', () => {
    const yamlPath = join(work, 'spec.yaml');
    writeFileSync(yamlPath, 'name: from-yaml\ngrid:\n  dataset: synthetic\n  arch: cnn-small\n  bits: [W2A2, 4/4]\n  method: [ce, sqakd]\nepochs: 2\n');
    const spec = validateMatrixSpec(readMatrixSpecFile(yamlPath), 'spec');
    expect(spec.name).toBe('from-yaml');
    expect(spec.grids[0].bits).toEqual(['W2A2', 'W4A4']);
    expect(spec.grids[0].quantizer).toEqual(['ewgs']);
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"grid": ');
    expect(() => readMatrixSpecFile(broken)).toThrow(/broken\.json is not valid JSON/);
    const overridden = overrideAxes(spec, ['method=kd,at', 'seed=1,2']);
    expect(overridden.grids[0].method).toEqual(['kd', 'at']);
    expect(overridden.grids[0].seed).toEqual([1, 2]);
    expect(() => overrideAxes(spec, ['flavour=x'])).toThrow(MatrixSpecError);
    // --only narrows every grid and drops those it empties (Table 7 without CIFAR-100).
    const table7 = validateMatrixSpec(presetSpec('table7'), 'table7');
    const cifar10 = restrictAxes(table7, ['dataset=cifar10', 'method=ce,sqakd,crd:label-free']);
    expect(cifar10.grids).toHaveLength(1);
    expect(cifar10.grids[0]).toMatchObject({ dataset: ['cifar10'], arch: ['resnet20'], method: ['ce', 'sqakd', 'crd:label-free'] });
    expect(() => restrictAxes(table7, ['dataset=mnist'])).toThrow(/leaves no cell/);
  });
});

describe('matrix plans', () => {
  it('trains each teacher once, shared by every student of its dataset and architecture', () => {
    const p = plan({ grid: { ...grid, bits: ['W2A2', 'W4A4'], method: ['ce', 'kd', 'sqakd', 'at', 'at:label-free'], seed: [1, 2] } });
    const teachers = p.cells.filter((c) => c.kind === 'teacher');
    const students = p.cells.filter((c) => c.kind === 'student');
    expect(teachers).toHaveLength(1);
    expect(students).toHaveLength(2 * 5 * 2);
    expect(new Set(p.cells.map((c) => c.id)).size).toBe(p.cells.length);
    for (const s of students) {
      expect(s.dependsOn).toEqual([teachers[0].id]);
      // Named relative to the student's folder, so the store can move.
      expect(s.config.teacher).toBe(`../${teachers[0].id}/checkpoint.ckpt`);
    }
    expect(students.filter((s) => s.config.settings.labelFree).map((s) => s.config.method).sort())
      .toEqual(['at', 'at', 'at', 'at', 'sqakd', 'sqakd', 'sqakd', 'sqakd']);
  });

  it('gives a cell a new identity exactly when its resolved configuration changes', () => {
    const before = plan({ grid, epochs: 2 });
    const same = plan({ grid, epochs: 2 });
    expect(same.cells.map((c) => c.id)).toEqual(before.cells.map((c) => c.id));
    // Student epochs change the students, not the teacher.
    const moreEpochs = plan({ grid, epochs: 3 });
    expect(moreEpochs.cells[0].id).toBe(before.cells[0].id);
    expect(moreEpochs.cells.slice(1).map((c) => c.id)).not.toEqual(expect.arrayContaining(before.cells.slice(1).map((c) => c.id)));
    // Teacher epochs change the teacher, hence every student that learns from it.
    const newTeacher = plan({ grid, epochs: 2, teacherEpochs: 7 });
    expect(newTeacher.cells.every((c, i) => c.id !== before.cells[i].id)).toBe(true);
    // A matrix's name moves its folder, not its cells' identities.
    expect(plan({ grid, epochs: 2, name: 'elsewhere' }).cells.map((c) => c.id)).toEqual(before.cells.map((c) => c.id));
  });

  it('leaves out excluded cells and shrinks schedules with epochsScale (pre-stages too)', () => {
    const p = plan({ grid: { ...grid, bits: ['W2A2', 'W4A4'], method: ['ce', 'fsp'] }, exclude: [{ bits: 'W4A4', method: 'fsp' }], epochsScale: 0.1 });
    const names = p.cells.map((c) => `${c.kind}:${c.config.method}:${c.axes.bits ?? ''}`).sort();
    expect(names).toEqual(['student:ce:W2A2', 'student:ce:W4A4', 'student:fsp:W2A2', 'teacher:ce:']);
    const recipe = RECIPES['synthetic-cnn-small'];
    expect(p.cells.find((c) => c.kind === 'teacher')!.config.phase.epochs).toBe(Math.max(1, Math.round(recipe.teacher.epochs * 0.1)));
    expect(p.cells.find((c) => c.config.method === 'fsp')!.config.settings.preEpochs).toBe(3); // 30 * 0.1
  });

  it('runs the paper-text and public-code variants of a quantizer as separate cells', () => {
    const p = plan({ grid: { ...grid, quantizer: ['ewgs', 'ewgs:hessian', 'pact', 'pact:frozen-alpha'], method: ['sqakd'] } });
    const students = p.cells.filter((c) => c.kind === 'student');
    const byAxis = new Map(students.map((c) => [c.axes.quantizer, c]));
    expect([...byAxis.keys()].sort()).toEqual(['ewgs', 'ewgs:hessian', 'pact', 'pact:frozen-alpha']);
    expect(byAxis.get('ewgs')!.config.quantization).toMatchObject({ quantizer: 'ewgs', ewgsDelta: 0 });
    expect(byAxis.get('ewgs:hessian')!.config.quantization).toMatchObject({ quantizer: 'ewgs', ewgsDelta: 'hessian' });
    expect(byAxis.get('pact')!.config.quantization).toMatchObject({ quantizer: 'pact', pactTrainAlpha: true });
    expect(byAxis.get('pact:frozen-alpha')!.config.quantization).toMatchObject({ quantizer: 'pact', pactTrainAlpha: false });
    expect(new Set(students.map((c) => c.id)).size).toBe(4);
    expect(byAxis.get('ewgs:hessian')!.id).toMatch(/^sqakd-ewgs-hessian-w2a2-/);
    expect(problemsOf(() => plan({ grid: { ...grid, quantizer: ['ewgs:fast', 'lsq:frozen-alpha'] } }))).toEqual([
      expect.stringMatching(/quantizer variant 'ewgs:fast' is unknown \(valid: a quantizer name, or ewgs:hessian, pact:frozen-alpha\)/),
      expect.stringMatching(/quantizer variant 'lsq:frozen-alpha' is unknown/),
    ]);
  });

  it('names a teacher cell independently of where the store lives', () => {
    const here = plan({ grid }).cells[1].config;
    const elsewhere = planMatrix(validateMatrixSpec({ grid }, 'test'), { runsDir: join(work, 'other-runs'), dataDir }).cells[1].config;
    expect(elsewhere).toEqual(here);
    // A result written before, with the teacher's absolute path, is still this cell's, wherever the store was.
    const teacherId = here.teacher!.split('/')[1];
    const legacy = { ...here, teacher: join('/mnt', 'old-store', 'test', teacherId, 'checkpoint.ckpt') };
    expect(sameCellConfig(legacy, here)).toBe(true);
    expect(sameCellConfig({ ...here, teacher: teacherCellPath('teacher-other') }, here)).toBe(false);
    expect(sameCellConfig({ ...here, seed: 9 }, here)).toBe(false);
    // Such a checkpoint resumes under the configuration it was written with; any other keeps the cell's.
    expect(trainerConfig(here, legacy)).toEqual(legacy);
    expect(trainerConfig(here, { ...legacy, seed: 9 })).toBe(here);
    expect(trainerConfig(here, undefined)).toBe(here);
  });

  it('scales the Tiny-ImageNet warm-up with the epochs, and caps any warm-up at half the run', () => {
    const tiny = { dataset: 'tiny-imagenet', arch: 'resnet18', quantizer: 'pact', bits: ['W4A4'], method: ['ce'] };
    const full = plan({ grid: tiny });
    expect(full.cells.map((c) => c.config.phase.schedule)).toEqual([
      { kind: 'warmup-cosine', warmupIterations: 2500, warmupFrom: 1e-4 }, { kind: 'warmup-cosine', warmupIterations: 2500, warmupFrom: 1e-4 },
    ]);
    const quick = plan({ grid: tiny, epochsScale: 0.01 });
    for (const c of quick.cells) {
      expect(c.config.phase.epochs).toBe(1);
      expect(c.config.phase.schedule).toEqual({ kind: 'warmup-cosine', warmupIterations: 25, warmupFrom: 1e-4 });
    }
    // The same share of the run as the recipe's: 25 of 1563 iterations (batch 64 of 100,000 images), like 2500 of 156,300.
    // Whatever shortens a run (--epochs, --train-images), the warm-up ends by half-way and the cosine reaches 0.
    const schedule = full.cells[0].config.phase.schedule;
    expect(effectiveWarmup(2500, 100 * 1563)).toBe(2500);
    expect(effectiveWarmup(2500, 1000)).toBe(500);
    const lr = (i: number) => learningRateAt(schedule, 0.05, Math.floor(i / 10), i % 10, 100, 10);
    expect(lr(0)).toBeCloseTo(1e-4, 12);
    expect(lr(500)).toBeCloseTo(0.05, 12);
    expect(lr(750)).toBeCloseTo(0.025, 12);
    expect(lr(999)).toBeLessThan(1e-5);
  });

  it('uses a given teacher checkpoint instead of training one, and rejects a missing one', () => {
    const checkpoint = join(work, 'teacher.ckpt');
    writeFileSync(checkpoint, 'x');
    const p = plan({ grid, teachers: { 'synthetic/cnn-small': checkpoint } });
    expect(p.cells.every((c) => c.kind === 'student' && c.dependsOn.length === 0 && c.config.teacher === checkpoint)).toBe(true);
    expect(problemsOf(() => plan({ grid, teachers: { 'synthetic/cnn-small': join(work, 'none.ckpt') } })).join('\n'))
      .toMatch(/teacher checkpoint for synthetic\/cnn-small not found/);
  });

  it('plans every preset with the paper recipes of its datasets and architectures', () => {
    const sizes: Record<string, number> = {};
    for (const name of Object.keys(PRESETS)) {
      const spec: MatrixSpec = validateMatrixSpec(presetSpec(name), name);
      const p = planMatrix(spec, { runsDir: join(work, 'runs'), dataDir });
      sizes[name] = p.cells.length;
      for (const c of p.cells) {
        if (c.config.recipe && c.config.recipe in RECIPES) expect(RECIPES[c.config.recipe].arch).toBe(c.config.arch);
      }
    }
    // Table 7: 2 settings x (CE, KD, SQAKD, 11 methods with CE, 10 label-free) + 2 teachers.
    expect(sizes.table7).toBe(2 * (3 + 11 + 10) + 2);
    // Table 4, CIFAR-10: ResNet-20 at three widths and VGG-8 at W2A2, CE and SQAKD each, two teachers.
    expect(sizes['table4-cifar10']).toBe((3 + 1) * 2 + 2);
    const t7 = planMatrix(validateMatrixSpec(presetSpec('table7'), 'table7'), { runsDir: join(work, 'runs'), dataDir });
    expect(t7.cells.find((c) => c.config.arch === 'resnet20' && c.kind === 'student')!.config.phase.epochs).toBe(1200);
  });
});

describe('weak-teacher settings', () => {
  it('hands the spec\'s teacherMinTop1 and weakTeacher to every student cell, outside its identity', () => {
    const plain = plan({ grid });
    const strict = plan({ grid, teacherMinTop1: 50, weakTeacher: 'error' });
    const students = strict.cells.filter((c) => c.kind === 'student');
    expect(students).toHaveLength(2);
    for (const cell of students) expect(cell.teacherCheck).toEqual({ minTop1: 50, action: 'error' });
    expect(strict.cells.find((c) => c.kind === 'teacher')!.teacherCheck).toBeUndefined();
    expect(plain.cells.every((c) => c.teacherCheck === undefined)).toBe(true);
    // The same cells: changing how a weak teacher is treated re-trains nothing.
    expect(strict.cells.map((c) => c.id)).toEqual(plain.cells.map((c) => c.id));
  });

  it('refuses a threshold outside 0..100 or an unknown action, at its path', () => {
    const problems = problemsOf(() => plan({ grid, teacherMinTop1: 120, weakTeacher: 'ignore' }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^teacherMinTop1: /), expect.stringMatching(/^weakTeacher: must be 'warn' or 'error'/)]));
  });
});
