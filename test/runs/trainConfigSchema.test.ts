// A cell's configuration read back from disk is checked against its schema: every configuration the planner makes
// passes, and a corrupt or hand-edited cell.json is a one-line error naming each bad field.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { validateMatrixSpec } from '../../runs/matrix/matrixSpec.ts';
import { planMatrix } from '../../runs/matrix/plan.ts';
import { PRESETS, presetSpec } from '../../runs/matrix/presets.ts';
import { runCell } from '../../runs/matrix/runCell.ts';
import { readTrainConfig } from '../../runs/trainConfigSchema.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-config-schema-'));
const dataDir = join(work, 'data');
for (const folder of ['mnist', 'cifar-10-batches-bin', 'cifar-100-binary', 'tiny-imagenet-200']) {
  mkdirSync(join(dataDir, folder), { recursive: true });
}

function presetCells() {
  return Object.keys(PRESETS).flatMap((name) =>
    planMatrix(validateMatrixSpec(presetSpec(name), name), { runsDir: join(work, 'runs'), dataDir }).cells);
}

describe('cell configuration schema', () => {
  it('accepts every configuration the planner makes, as written to cell.json', () => {
    for (const cell of presetCells()) {
      const written = JSON.parse(JSON.stringify(cell.config)) as unknown;
      expect(readTrainConfig(written, ['config'])).toBe(written);
    }
  });

  it('names every bad field of a configuration on one line', () => {
    const config = JSON.parse(JSON.stringify(presetCells().find((c) => c.kind === 'student')!.config)) as Record<string, any>;
    config.phase.epochs = 0;
    config.quantization.wBits = 'two';
    config.settings.labelFree = 'no';
    config.seeed = 3;
    expect(() => readTrainConfig(config, ['config'])).toThrow(new Error([
      'config.quantization.wBits: must be a positive integer, got "two"',
      'config.phase.epochs: must be a positive integer, got 0',
      'config.settings.labelFree: must be true or false, got "no"',
      "config: unknown key 'seeed' (did you mean 'seed'?) " +
        '(valid: dataset, arch, method, quantization, teacher, recipe, seed, phase, settings, trainImages)',
    ].join('; ')));
  });

  it('makes a worker refuse an invalid cell.json with a one-line error naming the field', () => {
    const cellDir = join(work, 'runs', 'bad-cell');
    mkdirSync(cellDir, { recursive: true });
    const config = JSON.parse(JSON.stringify(presetCells()[0].config)) as Record<string, any>;
    config.phase.schedule = { kind: 'cosine' };
    writeFileSync(join(cellDir, 'cell.json'), JSON.stringify({ id: 'bad-cell', config }));
    expect(() => runCell(cellDir, dataDir, 'cpu')).toThrow(new RegExp(`^${join(cellDir, 'cell.json')} is not a valid cell: ` +
      "config\\.phase\\.schedule\\.kind: must be a schedule whose kind is 'cosine-epoch', 'warmup-cosine' or 'constant'.*" +
      '; run the matrix again to rewrite it$'));
    writeFileSync(join(cellDir, 'cell.json'), '{"id": "bad-cell", "config": ');
    expect(() => runCell(cellDir, dataDir, 'cpu')).toThrow(/cell\.json is corrupt \(.*\); run the matrix again to rewrite it$/);
  });
});
