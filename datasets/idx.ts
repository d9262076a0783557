// The IDX file format of MNIST and Fashion-MNIST (gzipped or not): a magic number giving the element type and
// rank, the dimensions as big-endian uint32, then the data. Truncated or corrupt files are errors.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  /** The file read (`path` or `path.gz`), for the caller's own errors about its contents. */
  file: string;
  dims: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

/** Reads an unsigned-byte IDX file, from `path` or `path.gz`, checking its header against its length. */
export function readIdx(path: string): IdxArray {
  const file = existsSync(path) ? path : existsSync(`${path}.gz`) ? `${path}.gz` : undefined;
  if (!file) throw new Error(`missing IDX file ${path} (or ${path}.gz)`);
  let bytes: Buffer = readFileSync(file);
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`corrupt gzip file ${file}: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    const found = bytes.length ? `0x${bytes.subarray(0, 4).toString('hex')}` : 'none, the file is empty';
    throw new Error(`${file} is not an IDX file (bad magic number ${found}; IDX files start 0x0000, type, rank)`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) throw new Error(`${file} holds IDX type 0x${bytes[2].toString(16)}, expected unsigned bytes (0x08)`);
  const rank = bytes[3];
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) throw new Error(`${file} is truncated inside its header`);
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    throw new Error(`${file} is ${actual < expected ? 'truncated' : 'corrupt'}: its header promises ${expected} bytes ` +
      `of data (${dims.join('x')}), it holds ${actual}`);
  }
  return { file, dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expected) };
}
