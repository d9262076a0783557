// The IDX reader and the MNIST / Fashion-MNIST loaders on small files the tests write (raw and gzipped): header,
// pixel values and labels as written; and each broken file (truncated, bad magic number, image and label counts that
// differ, a label outside the classes) a one-line error naming the file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { readIdx } from '../../datasets/idx.ts';
import { loadMnist, type MnistVariant } from '../../datasets/mnist.ts';
import { datasetSpec } from '../../datasets/registry.ts';

const root = mkdtempSync(join(tmpdir(), 'sqakd-idx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An unsigned-byte IDX file: 0x0000, type 0x08, rank, big-endian dimensions, then the data. */
function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

const pixelOf = (image: number, y: number, x: number) => (image * 31 + y * 7 + x * 3) % 256;
const labelOf = (image: number) => (image * 3) % 10;

function images(count: number): Buffer {
  const data = new Uint8Array(count * 28 * 28);
  for (let i = 0; i < count; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) data[(i * 28 + y) * 28 + x] = pixelOf(i, y, x);
  return idxBytes([count, 28, 28], data);
}

function labels(count: number, label = labelOf): Buffer {
  return idxBytes([count], Uint8Array.from({ length: count }, (_, i) => label(i)));
}

interface SplitFiles {
  images?: Buffer;
  labels?: Buffer;
  gzip?: boolean;
}

/** A data directory whose <variant>/ folder holds the test split's two files; returns the directory. */
function dataDir(name: string, variant: MnistVariant, files: SplitFiles): string {
  const dir = join(root, name);
  mkdirSync(join(dir, variant), { recursive: true });
  const write = (file: string, bytes: Buffer) =>
    writeFileSync(join(dir, variant, files.gzip ? `${file}.gz` : file), files.gzip ? gzipSync(bytes) : bytes);
  write('t10k-images-idx3-ubyte', files.images ?? images(12));
  write('t10k-labels-idx1-ubyte', files.labels ?? labels(12));
  return dir;
}

/** The error `load` throws; it must be one line. */
function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

describe('readIdx', () => {
  it('reads the header and data of raw and gzipped files, preferring the raw one', () => {
    const data = Uint8Array.from([5, 0, 255, 17, 3, 9]);
    const path = join(root, 'plain-idx');
    writeFileSync(path, idxBytes([2, 3], data));
    expect(readIdx(path)).toEqual({ file: path, dims: [2, 3], data });
    const zipped = join(root, 'zipped-idx');
    writeFileSync(`${zipped}.gz`, gzipSync(idxBytes([6], data)));
    expect(readIdx(zipped)).toEqual({ file: `${zipped}.gz`, dims: [6], data });
  });

  it('names the file of each broken header or length', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty', Buffer.alloc(0), /empty is not an IDX file \(bad magic number none, the file is empty/],
      ['bad-magic', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 1, 7]), /bad-magic is not an IDX file \(bad magic number 0x1f8b0800;/],
      ['float-type', Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /float-type holds IDX type 0xd, expected unsigned bytes/],
      ['short-header', idxBytes([4, 4], new Uint8Array(16)).subarray(0, 9), /short-header is truncated inside its header/],
      ['short-data', idxBytes([4, 4], new Uint8Array(16)).subarray(0, 20), /short-data is truncated: its header promises 16 bytes of data \(4x4\), it holds 8/],
      ['long-data', idxBytes([2], new Uint8Array(3)), /long-data is corrupt: its header promises 2 bytes of data \(2\), it holds 3/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(root, name);
      writeFileSync(path, bytes);
      expect(errorOf(() => readIdx(path)), name).toMatch(pattern);
    }
    const truncatedGzip = join(root, 'cut-gzip');
    const zipped = gzipSync(idxBytes([100], new Uint8Array(100).fill(1)));
    writeFileSync(`${truncatedGzip}.gz`, zipped.subarray(0, zipped.length - 10));
    expect(errorOf(() => readIdx(truncatedGzip))).toMatch(/^corrupt gzip file .*cut-gzip\.gz: /);
    expect(errorOf(() => readIdx(join(root, 'nothing')))).toMatch(/^missing IDX file .*nothing \(or .*nothing\.gz\)$/);
  });
});

for (const variant of ['mnist', 'fashion-mnist'] as const) {
  describe(`${variant} from IDX files`, () => {
    for (const gzip of [false, true]) {
      it(`loads pixels and labels as written (${gzip ? 'gzipped' : 'raw'}), through the dataset registry too`, () => {
        const dir = dataDir(`${variant}-${gzip ? 'gz' : 'raw'}`, variant, { gzip });
        for (const set of [loadMnist(dir, 'test', variant), datasetSpec(variant).load(dir, 'test')]) {
          expect([set.count, set.height, set.width, set.channels, set.classes]).toEqual([12, 28, 28, 1, 10]);
          expect(Array.from(set.labels)).toEqual(Array.from({ length: 12 }, (_, i) => labelOf(i)));
          for (const [i, y, x] of [[0, 0, 0], [5, 13, 27], [11, 27, 1]]) expect(set.images[(i * 28 + y) * 28 + x]).toBe(pixelOf(i, y, x));
        }
      });
    }

    it('a truncated image file is an error naming it', () => {
      const dir = dataDir(`${variant}-cut`, variant, { images: images(12).subarray(0, 16 + 5 * 784) });
      expect(errorOf(() => loadMnist(dir, 'test', variant)))
        .toMatch(new RegExp(`${variant}/t10k-images-idx3-ubyte is truncated: its header promises 9408 bytes .*it holds 3920$`));
    });

    it('a bad magic number is an error naming the file', () => {
      const bad = labels(12);
      bad[0] = 0x42;
      const dir = dataDir(`${variant}-magic`, variant, { labels: bad, gzip: true });
      expect(errorOf(() => loadMnist(dir, 'test', variant)))
        .toMatch(new RegExp(`${variant}/t10k-labels-idx1-ubyte\\.gz is not an IDX file \\(bad magic number 0x42000801;`));
    });

    it('image and label counts that differ are an error naming both files', () => {
      const dir = dataDir(`${variant}-count`, variant, { labels: labels(11) });
      expect(errorOf(() => loadMnist(dir, 'test', variant))).toMatch(new RegExp(
        `${variant}/t10k-labels-idx1-ubyte holds 11 labels but .*${variant}/t10k-images-idx3-ubyte holds 12 images$`));
    });

    it('a label outside the classes is an error naming the file and index', () => {
      const dir = dataDir(`${variant}-label`, variant, { labels: labels(12, (i) => (i === 7 ? 10 : labelOf(i))), gzip: true });
      expect(errorOf(() => loadMnist(dir, 'test', variant)))
        .toMatch(new RegExp(`${variant}/t10k-labels-idx1-ubyte\\.gz: label 10 at index 7 is outside the classes 0\\.\\.9$`));
    });

    it('images that are not 28x28 and labels that are not one per image are errors naming the file', () => {
      const wrongSize = dataDir(`${variant}-size`, variant, { images: idxBytes([2, 14, 14], new Uint8Array(2 * 196)), labels: labels(2) });
      expect(errorOf(() => loadMnist(wrongSize, 'test', variant)))
        .toMatch(/t10k-images-idx3-ubyte holds an array of 2x14x14, expected images of 28x28$/);
      const wrongRank = dataDir(`${variant}-rank`, variant, { labels: idxBytes([12, 1], new Uint8Array(12)) });
      expect(errorOf(() => loadMnist(wrongRank, 'test', variant)))
        .toMatch(/t10k-labels-idx1-ubyte holds an array of 12x1, expected one label per image$/);
    });
  });
}
