// Matrix spec files against their schema: every mistake of a spec is reported in one pass, each at its path in the
// file, unknown keys and misspelt names with a suggestion; the JSON Schema editors use describes the same files.
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { METHODS } from '../../../methods/registry.ts';
import {
  assembleMatrixSpec, MatrixSpecError, readMatrixSpecFile, validateMatrixSpec,
} from '../../../runs/matrix/matrixSpec.ts';
import { matrixSpecFileSchema, matrixSpecJsonSchema } from '../../../runs/matrix/matrixSpecSchema.ts';
import { planMatrix } from '../../../runs/matrix/plan.ts';
import { PRESETS, presetSpec } from '../../../runs/matrix/presets.ts';
import { cellConfigJsonSchema } from '../../../runs/trainConfigSchema.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-spec-'));
const dataDir = join(work, 'data');
mkdirSync(dataDir, { recursive: true });

const grid = { dataset: 'synthetic', arch: 'cnn-small', quantizer: 'ewgs', bits: ['W2A2'], method: ['ce', 'sqakd'] };
const AXES_LIST = 'dataset, arch, quantizer, bits, method, seed';
const METHOD_LIST = Object.keys(METHODS).join(', ');

/** Every problem `sqakd matrix` reports for a raw spec and command line: its structure's, then the planner's. */
function allProblems(raw: unknown, cli: { set?: string[]; only?: string[] } = {}): string[] {
  const { spec, problems } = assembleMatrixSpec(raw, 'test', cli);
  try {
    planMatrix(spec, { runsDir: join(work, 'runs'), dataDir, earlierProblems: problems });
  } catch (e) {
    expect(e).toBeInstanceOf(MatrixSpecError);
    return (e as MatrixSpecError).problems;
  }
  return [];
}

describe('matrix spec problems', () => {
  it('reports five different mistakes together, each at its path in the file', () => {
    const problems = allProblems({
      grid: { dataset: 'synthetic', archs: 'cnn-small', bits: ['W2A2', 'W9Z2'], method: ['ce', 'kd', 'sqakd', 'sqkad'], seed: -1 },
      epochs: 0,
      exclude: [{ method: 'kd', sed: 1 }],
    });
    expect(problems).toEqual([
      // The misspelt axis: named with its suggestion, and the axis it leaves missing.
      'grid.arch: missing (it must be an architecture name or a list of them)',
      'grid.bits[1]: must be bit widths like W2A2 (also w2a2, 2/2, or 2 for both), got "W9Z2"',
      'grid.seed: must be a non-negative integer, got -1',
      `grid: unknown key 'archs' (did you mean 'arch'?) (valid: ${AXES_LIST})`,
      `exclude[0]: unknown key 'sed' (did you mean 'seed'?) (valid: ${AXES_LIST})`,
      'epochs: must be a positive integer, got 0',
      `grid.method[3]: unknown method 'sqkad' (did you mean 'sqakd'?) (valid: ${METHOD_LIST})`,
    ]);
  });

  it('suggests the method a misspelt name was meant to be, at the value itself', () => {
    expect(allProblems({ grid: { ...grid, method: 'sqkad' } }))
      .toEqual([`grid.method: unknown method 'sqkad' (did you mean 'sqakd'?) (valid: ${METHOD_LIST})`]);
    expect(allProblems({ grids: [grid, { ...grid, arch: ['cnn-small', 'resnet21'] }] })[0])
      .toMatch(/^grids\[1\]\.arch\[1\]: unknown architecture 'resnet21' \(did you mean 'resnet20'\?\) \(valid: cnn-small, /);
  });

  it('keeps pointing at the place in the file after --only, and at the --set that brought a value in', () => {
    const raw = { grid: { ...grid, method: ['ce', 'kd', 'sqakd', 'sqkad'] } };
    expect(allProblems(raw, { only: ['method=ce,sqkad'] })).toEqual([expect.stringMatching(/^grid\.method\[3\]: unknown method 'sqkad'/)]);
    expect(allProblems({ grid }, { set: ['method=ce,sqkad'] }))
      .toEqual([expect.stringMatching(/^--set method=ce,sqkad: unknown method 'sqkad' \(did you mean 'sqakd'\?\)/)]);
  });

  it('names an unknown top-level key with a suggestion and the valid keys', () => {
    const { problems } = assembleMatrixSpec({ grid, epoch: 2 }, 'test');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^unknown key 'epoch' \(did you mean 'epochs'\?\) \(valid: name, grid, grids, exclude, recipe, epochs, /);
  });

  it('says a misspelt axis is misspelt, not that --only leaves no cell', () => {
    const { problems } = assembleMatrixSpec({ grids: [grid, { ...grid, arch: undefined, archs: 'vgg8' }] }, 'test',
      { only: ['arch=vgg8'] });
    expect(problems).toEqual([
      'grids[1].arch: missing (it must be an architecture name or a list of them)',
      `grids[1]: unknown key 'archs' (did you mean 'arch'?) (valid: ${AXES_LIST})`,
    ]);
  });

  it('checks the settings, the grids and the exclusions in depth', () => {
    const { problems } = assembleMatrixSpec({
      grids: [grid, { ...grid, bits: ['W2A2', '2/2'], quantizer: [] }], name: 'my matrix',
      methodOptions: { crd: { negatives: 'many' } }, teachers: { 'cifar10-resnet20': 'teacher.ckpt' },
      teacherMinTop1: 150, weakTeacher: 'wran', exclude: [{}],
    }, 'test');
    expect(problems).toEqual([
      "name: must be letters, digits, '.', '_' or '-', starting with a letter or digit (it names a folder), got \"my matrix\"",
      'grids[1].quantizer: must list at least one value, got []',
      // 2/2 is W2A2 written another way: the same cells twice.
      'grids[1].bits[1]: W2A2 is listed twice (each value names one cell)',
      'exclude[0]: must name at least one axis value, e.g. { arch: vgg8, bits: W1A1 }',
      'methodOptions.crd.negatives: must be a number, got "many"',
      'teachers["cifar10-resnet20"]: must name a dataset and an architecture as dataset/arch, e.g. cifar10/resnet20, ' +
        'got "cifar10-resnet20"',
      'teacherMinTop1: must be a top-1 accuracy in percent, from 0 to 100, got 150',
      "weakTeacher: must be 'warn' or 'error' (did you mean 'warn'?), got \"wran\"",
    ]);
    expect(assembleMatrixSpec({ grid, grids: [grid] }, 'test').problems).toEqual(["give either 'grid' or 'grids', not both"]);
    expect(assembleMatrixSpec({ epochs: 2 }, 'test').problems)
      .toEqual(["'grid' (an object of axes) or 'grids' (a list of them) is required"]);
    expect(assembleMatrixSpec(['grid'], 'test').problems)
      .toEqual(['the spec must be an object of keys such as name, grid, epochs and exclude, got ["grid"]']);
  });

  it('reads the accepted forms and defaults, and the weak-teacher settings', () => {
    const spec = validateMatrixSpec({
      grid: { dataset: 'synthetic', arch: 'cnn-small', bits: ['w2a2', '3/3', 4], method: 'ce' },
      exclude: [{ bits: '3/3', seed: 1 }], teacherMinTop1: 25, weakTeacher: 'error',
    }, 'fallback-name');
    expect(spec).toEqual({
      name: 'fallback-name', teacherMinTop1: 25, weakTeacher: 'error', exclude: [{ bits: 'W3A3', seed: '1' }],
      grids: [{
        dataset: ['synthetic'], arch: ['cnn-small'], quantizer: ['ewgs'], bits: ['W2A2', 'W3A3', 'W4A4'], method: ['ce'], seed: [1],
      }],
    });
  });
});

describe('matrix spec JSON Schema', () => {
  it('describes a closed object with the spec keys and the grid axes, for editors', () => {
    const schema = matrixSpecJsonSchema() as {
      $schema: string; title: string; type: string; additionalProperties: boolean;
      properties: Record<string, { description?: string; additionalProperties?: boolean; properties?: Record<string, unknown> }>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.title).toBe('sqakd matrix spec');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'grid', 'grids', 'exclude', 'epochs',
      'epochsScale', 'methodOptions', 'teachers', 'teacherMinTop1', 'weakTeacher']));
    expect(schema.properties.grid.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.grid.properties!)).toEqual(['dataset', 'arch', 'quantizer', 'bits', 'method', 'seed']);
    expect(schema.properties.epochs.description).toMatch(/Student epochs/);
    // It is plain JSON: what `sqakd schema matrix` writes to a file.
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('accepts every preset and every example spec', () => {
    for (const name of Object.keys(PRESETS)) expect(matrixSpecFileSchema.safeParse(presetSpec(name)).success, name).toBe(true);
    const examples = join(import.meta.dirname, '../../../runs/matrix/examples');
    const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const raw = readMatrixSpecFile(join(examples, file));
      expect(matrixSpecFileSchema.safeParse(raw).error?.issues, file).toBeUndefined();
    }
  });

  it('describes a cell configuration as a closed object', () => {
    const schema = cellConfigJsonSchema() as { additionalProperties: boolean; required: string[]; properties: Record<string, unknown> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['dataset', 'arch', 'method', 'quantization', 'phase', 'settings']));
    expect(Object.keys(schema.properties)).toContain('trainImages');
  });
});
