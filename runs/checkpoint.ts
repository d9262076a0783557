// Checkpoints: one file holding named tensors (model parameters and buffers, optimizer slots) and a JSON header
// describing the run. Layout: "SQAKDCK1", a uint32 header length, the JSON header, then the tensors' bytes.
// Writes go to a temporary file renamed into place, so a killed process never leaves a half-written checkpoint.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';

import { framedHead, readFramedHeader } from '../datasets/framedFile.ts';
import type { Module } from '../models/nn/module.ts';

const MAGIC = 'SQAKDCK1';

interface TensorEntry {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  length: number;
}

export interface Checkpoint<Meta> {
  meta: Meta;
  tensors: Map<string, tf.Tensor>;
}

/** Writes named tensors and metadata atomically to `path`. */
export function saveCheckpoint<Meta>(path: string, meta: Meta, tensors: Map<string, tf.Tensor>): void {
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`checkpoint tensor ${name} has dtype ${t.dtype}`);
    const data = t.dataSync() as Float32Array | Int32Array;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, length: bytes.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    for (const part of [...framedHead(MAGIC, { meta, tensors: entries }), ...chunks]) writeSync(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Reads a checkpoint; a truncated or foreign file is an error naming it. */
export function loadCheckpoint<Meta>(path: string): Checkpoint<Meta> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`checkpoint ${path} does not exist or cannot be read`);
  }
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) throw new Error(`${path} is not an sqakd checkpoint`);
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw new Error(`checkpoint ${path} is truncated (inside its header)`);
  const { meta, tensors } = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as { meta: Meta; tensors: TensorEntry[] };
  const base = 12 + headerLength;
  const out = new Map<string, tf.Tensor>();
  for (const e of tensors) {
    if (base + e.offset + e.length > bytes.length) throw new Error(`checkpoint ${path} is truncated (tensor ${e.name})`);
    const copy = bytes.buffer.slice(bytes.byteOffset + base + e.offset, bytes.byteOffset + base + e.offset + e.length);
    const values = e.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
    out.set(e.name, tf.tensor(values, e.shape, e.dtype));
  }
  return { meta, tensors: out };
}

/** A checkpoint's metadata only, without reading its tensors; undefined when there is no readable checkpoint. */
export function readCheckpointMeta<Meta>(path: string): Meta | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return readFramedHeader<{ meta: Meta }>(fd, MAGIC)?.header.meta;
  } finally {
    closeSync(fd);
  }
}

/** A model's parameters and buffers under a name prefix, for saving. */
export function modelTensors(model: Module, prefix = 'model/'): Map<string, tf.Tensor> {
  return new Map([...model.stateDict()].map(([name, v]) => [prefix + name, v as tf.Tensor]));
}

/**
 * Loads saved tensors into a model. With `partial`, entries the checkpoint lacks are left as they are (a
 * quantized student initialised from a full-precision teacher); otherwise every entry must be present.
 */
export function loadModelTensors(model: Module, tensors: Map<string, tf.Tensor>, options: { prefix?: string; partial?: boolean;
  describe?: string } = {}): void {
  const prefix = options.prefix ?? 'model/';
  const missing: string[] = [];
  for (const [name, v] of model.stateDict()) {
    const saved = tensors.get(prefix + name);
    if (!saved) {
      missing.push(name);
      continue;
    }
    if (saved.shape.join() !== v.shape.join()) {
      throw new Error(`checkpoint${options.describe ? ` (${options.describe})` : ''} has ${name} of shape [${saved.shape}], ` +
        `the model expects [${v.shape}]`);
    }
    v.assign(saved);
  }
  if (missing.length && !options.partial) {
    throw new Error(`checkpoint${options.describe ? ` (${options.describe})` : ''} lacks ${missing.length} of the model's ` +
      `tensors, e.g. ${missing.slice(0, 3).join(', ')}`);
  }
}
