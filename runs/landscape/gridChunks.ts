// A sweep's grid in chunks, each saved when done (<out>/chunks/chunk-<k>.json, atomically), so that a killed sweep
// resumes chunk by chunk and several workers can share one sweep. A chunk records the sweep it belongs to (a
// fingerprint of everything that decides its numbers, the model's and teacher's bytes included), so chunks of another
// sweep are never mixed in. Points are evaluated one by one at fixed parameters, so any split gives the same numbers.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../atomicWrite.ts';
import { canonicalJson } from '../canonicalJson.ts';

export const CHUNK_FOLDER = 'chunks';

export interface GridChunk {
  sweep: string;
  index: number;
  from: number;
  to: number;
  points: Record<string, number>[];
}

/** The point ranges of `total` points in chunks of `size`. */
export function chunkRanges(total: number, size: number): { from: number; to: number }[] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`a chunk must hold at least one point, got ${size}`);
  return Array.from({ length: Math.ceil(total / size) }, (_, k) => ({ from: k * size, to: Math.min(total, (k + 1) * size) }));
}

/** The sha256 of a file's bytes, for a sweep's fingerprint. */
export function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The fingerprint of a sweep definition: equal exactly when every input that decides the numbers is equal. */
export function sweepFingerprint(definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 32);
}

/** The chunks of one sweep in an output folder. */
export class ChunkStore {
  /** The chunks in folder `dir` (a sweep's <out>/chunks, or a matrix job's folder). */
  constructor(private readonly dir: string, private readonly sweep: string) {}

  private path(index: number): string {
    return join(this.dir, `chunk-${index}.json`);
  }

  /** A finished chunk of this sweep, or undefined (none, half-written, or another sweep's: computed again). */
  read(index: number): GridChunk | undefined {
    if (!existsSync(this.path(index))) return undefined;
    try {
      const chunk = JSON.parse(readFileSync(this.path(index), 'utf8')) as GridChunk;
      return chunk.sweep === this.sweep && chunk.index === index ? chunk : undefined;
    } catch {
      return undefined;
    }
  }

  /** Saves a finished chunk (numbers as JSON doubles: float32 values round-trip exactly). */
  write(chunk: GridChunk): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.path(chunk.index), JSON.stringify(chunk));
  }

  /** Removes the chunks once the sweep's files are written. */
  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
