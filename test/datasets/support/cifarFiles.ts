// Writers of CIFAR binary files for the loader tests: records of label byte(s) then R, G, B planes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RECORD_PIXELS = 3072;

/** The pixel the tests put at (record, channel, position in the 32x32 plane). */
export function pixelOf(record: number, channel: number, position: number): number {
  return (record * 7 + channel * 101 + position * 13) % 256;
}

/**
 * `records` CIFAR records with the given label bytes per record; the first `patterned` records get pixelOf's
 * values (the rest stay zero, which keeps writing 50,000-record files fast).
 */
export function cifarRecords(records: number, labels: (r: number) => number[], patterned = 16): Buffer {
  const labelBytes = labels(0).length;
  const size = labelBytes + RECORD_PIXELS;
  const bytes = Buffer.alloc(records * size);
  for (let r = 0; r < records; r++) {
    bytes.set(labels(r), r * size);
    if (r >= patterned) continue;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) bytes[r * size + labelBytes + c * 1024 + p] = pixelOf(r, c, p);
    }
  }
  return bytes;
}

/** Writes `bytes` to dataDir/folder/file. */
export function writeDataFile(dataDir: string, folder: string, file: string, bytes: Uint8Array): string {
  mkdirSync(join(dataDir, folder), { recursive: true });
  const path = join(dataDir, folder, file);
  writeFileSync(path, bytes);
  return path;
}
