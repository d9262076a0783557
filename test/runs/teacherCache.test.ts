// The test suite's teacher cache (test/support/teacherCache.ts): a teacher is trained once and reused by later
// calls and later runs, and a cached copy that is damaged or belongs to another configuration is retrained.
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { loadCheckpoint } from '../../runs/checkpoint.ts';
import { teacherCellId } from '../../runs/matrix/plan.ts';
import { resolveTrainConfig, type TrainRequest } from '../../runs/trainConfig.ts';
import { cachedTeacher } from '../support/teacherCache.ts';

const TINY: TrainRequest = { recipe: 'synthetic-cnn-small', seed: 1, epochs: 1, trainImages: 256 };
const cacheDir = mkdtempSync(join(tmpdir(), 'sqakd-teacher-cache-'));
let backend: string;

const teacher = (request: TrainRequest = TINY) => cachedTeacher(request, { dataDir: resolveDataDir(), backend, cacheDir });

describe('teacher cache', () => {
  beforeAll(async () => {
    backend = await initBackend('libtorch');
  });

  it('trains a teacher once, under its matrix cell identity, and reuses it without training', () => {
    const first = teacher();
    expect(first.trained).toBe(true);
    expect(first.result.quantizer).toBe('none');
    expect(basename(dirname(first.checkpoint))).toBe(teacherCellId(resolveTrainConfig({ ...TINY, quantizer: 'none', method: 'ce' })));
    const second = teacher();
    expect(second.trained).toBe(false);
    expect(second.checkpoint).toBe(first.checkpoint);
    expect(second.result).toEqual(JSON.parse(readFileSync(join(dirname(first.checkpoint), 'result.json'), 'utf8')));
    // No staging folder is left behind.
    expect(readdirSync(cacheDir)).toEqual([basename(dirname(first.checkpoint))]);
  });

  it('retrains a truncated checkpoint and one whose bytes were changed', () => {
    const { checkpoint } = teacher();
    const bytes = readFileSync(checkpoint);
    truncateSync(checkpoint, bytes.length - 100);
    const afterTruncation = teacher();
    expect(afterTruncation.trained).toBe(true);
    expect(loadCheckpoint(checkpoint).tensors.size).toBeGreaterThan(0);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(checkpoint, bytes);
    expect(teacher().trained).toBe(true);
    expect(loadCheckpoint(checkpoint).tensors.size).toBeGreaterThan(0);
    expect(teacher().trained).toBe(false);
  });

  it('retrains when the folder holds another configuration, and keys a different configuration apart', () => {
    const { checkpoint } = teacher();
    const resultPath = join(dirname(checkpoint), 'result.json');
    const result = JSON.parse(readFileSync(resultPath, 'utf8'));
    writeFileSync(resultPath, JSON.stringify({ ...result, config: { ...result.config, seed: 2 } }));
    expect(teacher().trained).toBe(true);
    const other = teacher({ ...TINY, seed: 2 });
    expect(other.trained).toBe(true);
    expect(other.checkpoint).not.toBe(checkpoint);
    expect(teacher().trained).toBe(false);
  });
});
