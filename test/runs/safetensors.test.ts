// Checkpoints as safetensors files: what the suite writes is read by readers that share no code with it (a minimal
// one written here, a stdlib-only Python one, and Python's safetensors package where installed), holds every model
// tensor under its module path, and comes back through import as a checkpoint that evaluates exactly the same.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import type { ImageSet } from '../../datasets/imageSet.ts';
import { DataLoader } from '../../datasets/loader.ts';
import { type DatasetSpec, datasetSpec } from '../../datasets/registry.ts';
import { initBackend } from '../../engine/index.ts';
import type { Classifier } from '../../models/classifier.ts';
import { loadCheckpoint, saveCheckpoint } from '../../runs/checkpoint.ts';
import { exportSafetensors, fromPytorchLayout, importSafetensors, toPytorchLayout } from '../../runs/checkpointExport.ts';
import { evaluate } from '../../runs/evaluate.ts';
import { RUN_FILES } from '../../runs/runFolder.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../runs/safetensors.ts';
import { resolveTrainConfig } from '../../runs/trainConfig.ts';
import { type CheckpointMeta, disposeTensors, loadTrainedModel } from '../../runs/trainedModel.ts';
import { runTraining } from '../../runs/trainer.ts';
import { cachedTeacher, MNIST_TEACHER } from '../support/teacherCache.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-safetensors-'));
const runsPython = (code: string) => spawnSync('python3', ['-c', code], { stdio: 'ignore' }).status === 0;
const HAS_PYTHON = runsPython('import json, struct, array');
const HAS_PY_SAFETENSORS = runsPython('import safetensors, numpy');

interface Read {
  metadata: Record<string, string>;
  tensors: Map<string, { dtype: string; shape: number[]; values: Float32Array }>;
}

/** The test's own reader, from the format's description alone (no code shared with runs/safetensors.ts). */
function readIndependently(path: string): Read {
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.toString('utf8', 8, 8 + n)) as Record<string, any>;
  const { __metadata__: metadata = {}, ...entries } = header;
  const tensors = new Map<string, { dtype: string; shape: number[]; values: Float32Array }>();
  for (const [name, { dtype, shape, data_offsets: [begin, end] }] of Object.entries(entries)) {
    const values = new Float32Array(end - begin >> 2);
    for (let i = 0; i < values.length; i++) values[i] = file.readFloatLE(8 + n + begin + 4 * i);
    tensors.set(name, { dtype, shape, values });
  }
  return { metadata, tensors };
}

/** A Python reader using only the standard library: names, shapes, values and metadata as JSON. */
const STDLIB_READER = `
import array, json, struct, sys
with open(sys.argv[1], 'rb') as f:
    data = f.read()
(n,) = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n].decode('utf-8'))
meta = header.pop('__metadata__', {})
out = {}
for name, e in header.items():
    assert e['dtype'] == 'F32', e['dtype']
    b, end = e['data_offsets']
    a = array.array('f')
    a.frombytes(data[8 + n + b:8 + n + end])
    if sys.byteorder != 'little':
        a.byteswap()
    out[name] = {'shape': e['shape'], 'values': a.tolist()}
print(json.dumps({'metadata': meta, 'tensors': out}))
`;

/** The same through Python's safetensors package. */
const PACKAGE_READER = `
import json, sys
from safetensors import safe_open
from safetensors.numpy import load_file
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework='np') as f:
    meta = f.metadata()
print(json.dumps({'metadata': meta, 'tensors': {k: {'shape': list(v.shape), 'values': v.reshape(-1).tolist()} for k, v in tensors.items()}}))
`;

function readWithPython(script: string, path: string): Read {
  const run = spawnSync('python3', ['-c', script, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`python reader failed: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as { metadata: Record<string, string>; tensors: Record<string, { shape: number[]; values: number[] }> };
  return {
    metadata: parsed.metadata,
    tensors: new Map(Object.entries(parsed.tensors).map(([k, v]) => [k, { dtype: 'F32', shape: v.shape, values: Float32Array.from(v.values) }])),
  };
}

/** The checkpoint's model tensors, without the `model/` prefix, as float32 values. */
function modelTensorsOf(checkpointPath: string): Map<string, { shape: number[]; values: Float32Array }> {
  const { tensors } = loadCheckpoint(checkpointPath);
  try {
    return new Map([...tensors].filter(([name]) => name.startsWith('model/'))
      .map(([name, t]) => [name.slice('model/'.length), { shape: t.shape, values: t.dataSync() as Float32Array }]));
  } finally {
    disposeTensors(tensors);
  }
}

/** Every model tensor of the checkpoint is in what was read, under its own name, with its shape and exact values. */
function expectModelTensors(read: Read, checkpointPath: string): void {
  const expected = modelTensorsOf(checkpointPath);
  expect([...read.tensors.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, { shape, values }] of expected) {
    const got = read.tensors.get(name)!;
    expect(got.shape, name).toEqual(shape);
    expect(Buffer.from(got.values.buffer).equals(Buffer.from(values.buffer)), `${name} values`).toBe(true);
  }
}

/** The logits of the first 1,000 test images, and the top-1 on the whole test set. */
function behaviour(model: Classifier, set: ImageSet, spec: DatasetSpec): { logits: Float32Array; top1: number } {
  model.eval();
  const loader = new DataLoader(set, spec, { batchSize: 1000, shuffle: false, seed: 0, augment: false, withLabels: false });
  const batch = loader.epoch(0).next().value!;
  const logits = tf.tidy(() => model.forward(batch.x).dataSync() as Float32Array);
  batch.x.dispose();
  return { logits, top1: evaluate(model, set, spec).top1 };
}

function behaviourOf(checkpointPath: string, set: ImageSet, spec: DatasetSpec): { logits: Float32Array; top1: number; meta: CheckpointMeta } {
  const { model, meta } = loadTrainedModel(checkpointPath);
  try {
    return { ...behaviour(model, set, spec), meta };
  } finally {
    model.dispose();
  }
}

/** Runs `f` and returns its error's message, which must be one line naming `file`. */
function errorOf(f: () => unknown, file: string): string {
  let message: string | undefined;
  try {
    f();
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message, 'expected an error').toBeDefined();
  expect(message).not.toContain('\n');
  expect(message).toContain(file);
  return message!;
}

/** A safetensors file from a header object and a data length (the header as given, unchecked). */
function rawFile(name: string, header: unknown, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(work, name);
  writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(dataBytes)]));
  return path;
}

describe('checkpoints as safetensors', () => {
  let teacher: string;
  let student: string;
  let testSet: ImageSet;
  const spec = datasetSpec('mnist');

  beforeAll(async () => {
    const backend = await initBackend('libtorch');
    const dataDir = resolveDataDir();
    teacher = cachedTeacher(MNIST_TEACHER, { dataDir, backend }).checkpoint;
    // A quantized student, so that learned quantizer parameters (EWGS bounds, output scales) round-trip too.
    const out = join(work, 'student');
    runTraining(resolveTrainConfig({ dataset: 'mnist', arch: 'cnn-small', quantizer: 'ewgs', wBits: 2, aBits: 2,
      method: 'sqakd', teacher, epochs: 1, trainImages: 1000, seed: 1 }), { out, dataDir, backend, progress: null, log: () => {} });
    student = join(out, RUN_FILES.checkpoint);
    testSet = spec.load(dataDir, 'test');
  });

  it('encodes and decodes the format: dtypes, scalars, alignment, metadata', () => {
    const tensors = new Map<string, SafetensorsTensor>([
      ['a.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -0]) }],
      ['scale', { dtype: 'F32', shape: [], data: Float32Array.from([0.25]) }],
      ['seed', { dtype: 'I32', shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = encodeSafetensors(tensors, { note: 'ü' });
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const back = decodeSafetensors(bytes, 'memory');
    expect(back.metadata).toEqual({ note: 'ü' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) expect(back.tensors.get(name), name).toEqual(t);
    expect(() => encodeSafetensors(new Map([['x', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]))).toThrow(/shape \[3\] but 2 values/);
  });

  it('exports every model tensor, and nothing else, under its module path, read by an independent reader', () => {
    for (const [name, checkpoint] of [['teacher', teacher], ['student', student]]) {
      const path = join(work, `${name}.safetensors`);
      const summary = exportSafetensors(checkpoint, path);
      const read = readIndependently(path);
      expectModelTensors(read, checkpoint);
      expect(summary).toMatchObject({ path, tensors: read.tensors.size, bytes: readFileSync(path).length, layout: 'tfjs' });
      const meta = loadCheckpoint<CheckpointMeta>(checkpoint).meta;
      expect(read.metadata).toMatchObject({ format: 'sqakd-safetensors', formatVersion: '1', layout: 'tfjs', backend: meta.backend });
      expect(JSON.parse(read.metadata.config)).toEqual(meta.config);
      expect(JSON.parse(read.metadata.input)).toEqual(meta.input);
      expect(JSON.parse(read.metadata.epochsDone)).toBe(meta.epochsDone);
      expect(JSON.parse(read.metadata.teacherTop1)).toBe(meta.teacherTop1);
      expect([...read.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
    }
    const names = [...readIndependently(join(work, 'student.safetensors')).tensors.keys()];
    expect(names).toContain('stem.0.weight');
    expect(names).toContain('stem.1.runningMean');
    expect(names.some((n) => /Quantizer\.(lower|upper)$/.test(n))).toBe(true);
    expect(names.some((n) => n.endsWith('.outputScale'))).toBe(true);
    expect(names.some((n) => n.startsWith('optimizer') || n.startsWith('distiller'))).toBe(false);
  });

  it.skipIf(!HAS_PYTHON)('is read by a Python reader using only its standard library (skipped: no python3 on this machine)', () => {
    for (const name of ['teacher', 'student']) {
      expectModelTensors(readWithPython(STDLIB_READER, join(work, `${name}.safetensors`)), name === 'teacher' ? teacher : student);
    }
  });

  it.skipIf(!HAS_PY_SAFETENSORS)("is read by Python's safetensors package (skipped: python3 cannot import safetensors and numpy)", () => {
    for (const name of ['teacher', 'student']) {
      const read = readWithPython(PACKAGE_READER, join(work, `${name}.safetensors`));
      expectModelTensors(read, name === 'teacher' ? teacher : student);
      expect(read.metadata.format).toBe('sqakd-safetensors');
    }
  });

  it('lays out convolution and linear weights as PyTorch does with layout pytorch', () => {
    const path = join(work, 'teacher-pytorch.safetensors');
    expect(exportSafetensors(teacher, path, { layout: 'pytorch' }).layout).toBe('pytorch');
    const read = readIndependently(path);
    expect(read.metadata.layout).toBe('pytorch');
    const suite = modelTensorsOf(teacher);
    // Index by index, from the layouts' definitions: conv HWIO -> OIHW, linear [in, out] -> [out, in].
    const conv = suite.get('stage1.0.weight')!;
    const [H, W, I, O] = conv.shape;
    const convPt = read.tensors.get('stage1.0.weight')!;
    expect(convPt.shape).toEqual([O, I, H, W]);
    for (let o = 0; o < O; o += 5) for (let i = 0; i < I; i += 3) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      expect(convPt.values[((o * I + i) * H + h) * W + w]).toBe(conv.values[((h * W + w) * I + i) * O + o]);
    }
    const fc = suite.get('fc.weight')!;
    const fcPt = read.tensors.get('fc.weight')!;
    expect(fcPt.shape).toEqual([fc.shape[1], fc.shape[0]]);
    for (let o = 0; o < fc.shape[1]; o++) for (let i = 0; i < fc.shape[0]; i++) {
      expect(fcPt.values[o * fc.shape[0] + i]).toBe(fc.values[i * fc.shape[1] + o]);
    }
    // Everything else keeps its shape and values.
    expect(read.tensors.get('stem.1.runningVar')!.values).toEqual(suite.get('stem.1.runningVar')!.values);
  });

  it('lays out depthwise kernels as PyTorch does ([channels x multiplier, 1, kh, kw]) and back', () => {
    // cnn-small has no depthwise convolution: check the conversion against the convolution itself, computed in
    // PyTorch's NCHW convention from the converted weight (output channel c * M + m reads input channel c).
    const [H, W, C, M] = [3, 3, 4, 2];
    const kernel = tf.randomNormal([H, W, C, M], 0, 1, 'float32', 3);
    const x = tf.randomNormal([1, 5, 5, C], 0, 1, 'float32', 4);
    const expected = tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'valid').dataSync();
    const pt = toPytorchLayout({ kind: 'depthwise', multiplier: M }, kernel.dataSync() as Float32Array, [H, W, C, M]);
    expect(pt.shape).toEqual([C * M, 1, H, W]);
    const input = x.dataSync();
    for (let o = 0; o < C * M; o++) for (let y = 0; y < 3; y++) for (let z = 0; z < 3; z++) {
      let sum = 0;
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) sum += pt.data[(o * H + h) * W + w] * input[((y + h) * 5 + z + w) * C + Math.floor(o / M)];
      expect(sum).toBeCloseTo(expected[(y * 3 + z) * C * M + o], 4);
    }
    const back = fromPytorchLayout({ kind: 'depthwise', multiplier: M }, pt.data, [H, W, C, M]);
    expect(back.shape).toEqual([H, W, C, M]);
    expect(back.data).toEqual(kernel.dataSync());
    tf.dispose([kernel, x]);
  });

  it('imports back to a checkpoint with identical tensors, logits and top-1 on the MNIST test set', () => {
    for (const [name, checkpoint] of [['teacher', teacher], ['student', student]]) {
      const original = behaviourOf(checkpoint, testSet, spec);
      for (const layout of ['tfjs', 'pytorch'] as const) {
        const exported = join(work, `${name}-${layout}-roundtrip.safetensors`);
        exportSafetensors(checkpoint, exported, { layout });
        const imported = join(work, `${name}-${layout}.ckpt`);
        const summary = importSafetensors(exported, imported);
        expect(summary).toMatchObject({ path: imported, layout, bytes: readFileSync(imported).length });
        const back = modelTensorsOf(imported);
        expect(summary.tensors).toBe(back.size);
        for (const [tensor, { shape, values }] of modelTensorsOf(checkpoint)) {
          expect(back.get(tensor)?.shape, tensor).toEqual(shape);
          expect(Buffer.from(back.get(tensor)!.values.buffer).equals(Buffer.from(values.buffer)), tensor).toBe(true);
        }
        const again = behaviourOf(imported, testSet, spec);
        expect(again.top1, `${name} ${layout}`).toBe(original.top1);
        expect(Buffer.from(again.logits.buffer).equals(Buffer.from(original.logits.buffer)), `${name} ${layout} logits`).toBe(true);
        expect(again.meta).toMatchObject({ format: 1, config: original.meta.config, input: original.meta.input,
          epochsDone: original.meta.epochsDone, teacherTop1: original.meta.teacherTop1, history: original.meta.history });
        expect(loadCheckpoint(imported).tensors.size).toBe(back.size);
      }
    }
    expect(behaviourOf(student, testSet, spec).top1).toBeGreaterThan(50);
  });

  it('refuses to replace a file without force, and its own input even with it', () => {
    const out = join(work, 'existing.safetensors');
    writeFileSync(out, 'keep me');
    expect(errorOf(() => exportSafetensors(teacher, out), out)).toMatch(/already exists \(another --out, or --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    exportSafetensors(teacher, out, { force: true });
    expect(readIndependently(out).tensors.size).toBeGreaterThan(0);
    expect(errorOf(() => exportSafetensors(teacher, teacher, { force: true }), teacher)).toMatch(/is the input itself/);

    const ckpt = join(work, 'existing.ckpt');
    writeFileSync(ckpt, 'keep me too');
    expect(errorOf(() => importSafetensors(out, ckpt), ckpt)).toMatch(/already exists \(another --out, or --force/);
    expect(readFileSync(ckpt, 'utf8')).toBe('keep me too');
    importSafetensors(out, ckpt, { force: true });
    expect(loadCheckpoint(ckpt).tensors.size).toBeGreaterThan(0);
    expect(errorOf(() => importSafetensors(out, out, { force: true }), out)).toMatch(/is the input itself/);
  });

  it('names what is wrong with a file that is not a trained checkpoint', () => {
    const text = join(work, 'notes.txt');
    writeFileSync(text, 'not a checkpoint at all');
    expect(errorOf(() => exportSafetensors(text, join(work, 'x1.safetensors')), text)).toMatch(/is not an sqakd checkpoint/);
    const absent = join(work, 'absent.ckpt');
    expect(errorOf(() => exportSafetensors(absent, join(work, 'x2.safetensors')), absent)).toMatch(/does not exist/);
    const meta = loadCheckpoint<CheckpointMeta>(teacher).meta;
    const noModel = join(work, 'no-model.ckpt');
    saveCheckpoint(noModel, meta, new Map([['optimizer/0/momentum.fc.bias', tf.zeros([10])]]));
    expect(errorOf(() => exportSafetensors(noModel, join(work, 'x3.safetensors')), noModel)).toMatch(/holds no model tensors/);
    const foreign = join(work, 'foreign.ckpt');
    saveCheckpoint(foreign, { something: 'else' }, new Map([['model/fc.bias', tf.zeros([10])]]));
    expect(errorOf(() => exportSafetensors(foreign, join(work, 'x4.safetensors')), foreign)).toMatch(/not a trained model's/);
    const partial = join(work, 'partial.ckpt');
    saveCheckpoint(partial, meta, new Map([['model/fc.bias', tf.zeros([10])]]));
    expect(() => exportSafetensors(partial, join(work, 'x5.safetensors'))).toThrow(/lacks \d+ of the model's tensors/);
    expect(errorOf(() => exportSafetensors(teacher, join(work, 'x6.safetensors'), { layout: 'onnx' as never }), 'onnx'))
      .toMatch(/unknown tensor layout/);
  });

  it('rejects a damaged safetensors file with one line naming the file and the problem', () => {
    const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
    const cases: Array<[string, () => string, RegExp]> = [
      ['short', () => { const p = join(work, 'short.safetensors'); writeFileSync(p, Buffer.alloc(5)); return p; }, /fewer than the 8/],
      ['long header', () => {
        const p = join(work, 'long.safetensors');
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(1000n);
        writeFileSync(p, b);
        return p;
      }, /header length 1000 runs past the file's 16 bytes/],
      ['huge header', () => {
        const p = join(work, 'huge.safetensors');
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(2n ** 62n);
        writeFileSync(p, b);
        return p;
      }, /over the format's limit/],
      ['not json', () => {
        const p = join(work, 'notjson.safetensors');
        const b = Buffer.alloc(12);
        b.writeBigUInt64LE(4n);
        b.write('{{{{', 8);
        writeFileSync(p, b);
        return p;
      }, /not UTF-8 JSON/],
      ['array header', () => rawFile('array.safetensors', [1, 2], 0), /not a JSON object/],
      ['out of range', () => rawFile('range.safetensors', { a: f32(0, 16) }, 8), /past the 8 data bytes/],
      ['overlap', () => rawFile('overlap.safetensors', { a: f32(0, 8), b: f32(4, 12) }, 12), /tensors a and b overlap/],
      ['hole', () => rawFile('hole.safetensors', { a: f32(0, 4), b: f32(8, 12) }, 12), /data bytes 4 to 8 belong to no tensor/],
      ['trailing', () => rawFile('trailing.safetensors', { a: f32(0, 4) }, 8), /4 bytes after the last tensor/],
      ['unknown dtype', () => rawFile('dtype.safetensors', { a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /unknown dtype "F33"/],
      ['other dtype', () => rawFile('f16.safetensors', { a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4), /dtype F16, which the suite does not read/],
      ['size', () => rawFile('size.safetensors', { a: f32(0, 8, [3]) }, 8), /spans 8 bytes; dtype F32 of shape \[3\] takes 12/],
      ['shape', () => rawFile('shape.safetensors', { a: f32(0, 4, [-1] as number[]) }, 4), /not a list of non-negative integers/],
      ['offsets', () => rawFile('offsets.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /end before they begin/],
      ['metadata', () => rawFile('meta.safetensors', { __metadata__: { n: 1 } }, 0), /__metadata__ entry n is not a string/],
      ['checkpoint', () => teacher, /already an sqakd checkpoint/],
    ];
    cases.forEach(([what, make, pattern], i) => {
      const path = make();
      expect(errorOf(() => importSafetensors(path, join(work, `bad-${i}.ckpt`)), path), what).toMatch(pattern);
    });
  });

  it('says what metadata importing needs, and refuses tensors that do not fit the model', () => {
    const exported = readIndependently(join(work, 'student.safetensors'));
    const write = (name: string, tensors: Map<string, { shape: number[]; values: Float32Array }>, metadata: Record<string, string>) => {
      const path = join(work, name);
      writeFileSync(path, encodeSafetensors(new Map([...tensors].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: t.values }])), metadata));
      return path;
    };
    const bare = write('bare.safetensors', exported.tensors, {});
    expect(errorOf(() => importSafetensors(bare, join(work, 'b1.ckpt')), bare))
      .toMatch(/lacks format, formatVersion, layout, config, input\): importing needs __metadata__ with format "sqakd-safetensors"/);
    const other = write('other.safetensors', exported.tensors, { ...exported.metadata, format: 'pt' });
    expect(errorOf(() => importSafetensors(other, join(work, 'b2.ckpt')), other)).toMatch(/format is "pt"/);
    const version = write('version.safetensors', exported.tensors, { ...exported.metadata, formatVersion: '9' });
    expect(errorOf(() => importSafetensors(version, join(work, 'b3.ckpt')), version)).toMatch(/formatVersion 9/);
    const badConfig = write('config.safetensors', exported.tensors, { ...exported.metadata, config: '{"arch":' });
    expect(errorOf(() => importSafetensors(badConfig, join(work, 'b4.ckpt')), badConfig)).toMatch(/metadata config is not JSON/);

    const fewer = new Map(exported.tensors);
    fewer.delete('fc.bias');
    const lacking = write('lacking.safetensors', fewer, exported.metadata);
    expect(errorOf(() => importSafetensors(lacking, join(work, 'b5.ckpt')), lacking)).toMatch(/lacks 1 of the tensors .* fc\.bias/);
    const extra = write('extra.safetensors', new Map([...exported.tensors, ['optimizer.x', { dtype: 'F32', shape: [1], values: new Float32Array(1) }]]), exported.metadata);
    expect(errorOf(() => importSafetensors(extra, join(work, 'b6.ckpt')), extra)).toMatch(/1 tensors that .* does not, e\.g\. optimizer\.x/);
    const fc = exported.tensors.get('fc.weight')!;
    const reshaped = write('reshaped.safetensors', new Map([...exported.tensors, ['fc.weight', { ...fc, shape: [fc.shape[1], fc.shape[0]] }]]),
      exported.metadata);
    expect(errorOf(() => importSafetensors(reshaped, join(work, 'b7.ckpt')), reshaped))
      .toMatch(/fc\.weight of shape \[10,64\]; .* in the tfjs layout expects \[64,10\]/);
  });
});
