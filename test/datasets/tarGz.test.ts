// The .tar.gz reader on archives made by the system `tar`: nested folders, long names (GNU and pax headers),
// empty and binary files; truncated and corrupt archives are errors; entries may not escape the destination.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { extractTarGz, readTarGz, type TarEntry } from '../../datasets/tarGz.ts';

const root = mkdtempSync(join(tmpdir(), 'sqakd-tar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LONG = `${'a-long-folder-name-'.repeat(4)}/${'and-a-long-file-name-'.repeat(5)}.bin`;
const FILES: Record<string, Buffer> = {
  'set/readme.txt': Buffer.from('hello\n'),
  'set/empty.bin': Buffer.alloc(0),
  'set/sub/block.bin': Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256)),
  'set/sub/data.bin': Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 31 + 5) % 256)),
  [`set/${LONG}`]: Buffer.from('long name\n'),
};

function makeSource(): string {
  const source = join(root, 'source');
  for (const [path, data] of Object.entries(FILES)) {
    mkdirSync(join(source, path, '..'), { recursive: true });
    writeFileSync(join(source, path), data);
  }
  return source;
}

function archive(name: string, format: 'gnu' | 'pax'): string {
  const path = join(root, name);
  execFileSync('tar', ['-czf', path, `--format=${format}`, '-C', makeSource(), 'set']);
  return path;
}

describe('readTarGz / extractTarGz', () => {
  for (const format of ['gnu', 'pax'] as const) {
    it(`extracts every file of a ${format} archive byte for byte`, async () => {
      const tgz = archive(`${format}.tar.gz`, format);
      const destination = join(root, `out-${format}`);
      const written = await extractTarGz(tgz, destination);
      expect(written.length).toBe(Object.keys(FILES).length);
      for (const [path, data] of Object.entries(FILES)) {
        expect(readFileSync(join(destination, path)).equals(data), path).toBe(true);
      }
    });
  }

  it('lists entries with their types and sizes', async () => {
    const entries: TarEntry[] = [];
    await readTarGz(archive('list.tar.gz', 'gnu'), (entry, data) => {
      entries.push(entry);
      if (entry.type === 'file') expect(data!.length).toBe(entry.size);
      else expect(data).toBeNull();
    });
    expect(entries.filter((e) => e.type === 'directory').map((e) => e.path)).toContain('set/sub/');
    expect(entries.find((e) => e.path === 'set/sub/data.bin')?.size).toBe(70_001);
  });

  it('reports a truncated archive', async () => {
    const tgz = archive('truncated.tar.gz', 'gnu');
    truncateSync(tgz, Math.floor(statSync(tgz).size / 2));
    await expect(extractTarGz(tgz, join(root, 'out-truncated'))).rejects.toThrow(/truncated/);
  });

  it('reports a corrupt archive', async () => {
    const tgz = archive('corrupt.tar.gz', 'gnu');
    const bytes = readFileSync(tgz);
    for (let i = 20; i < 60; i++) bytes[i] ^= 0x5a;
    writeFileSync(tgz, bytes);
    await expect(extractTarGz(tgz, join(root, 'out-corrupt'))).rejects.toThrow(/corrupt\.tar\.gz (is not a valid gzip file|is corrupt|is truncated)/);
  });

  it('reports a file that is not gzip at all', async () => {
    const path = join(root, 'plain.tar.gz');
    writeFileSync(path, 'not an archive');
    await expect(readTarGz(path, () => {})).rejects.toThrow(/plain\.tar\.gz is not a valid gzip file/);
  });

  it('refuses entries that point outside the destination', async () => {
    const inner = join(root, 'escape', 'inner');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(root, 'escape', 'outside.txt'), 'x');
    const tgz = join(root, 'escape.tar.gz');
    execFileSync('tar', ['-czf', tgz, '--absolute-names', '-C', inner, '../outside.txt']);
    await expect(extractTarGz(tgz, join(root, 'out-escape'))).rejects.toThrow(/'\.\.\/outside\.txt', which points outside/);
  });

  it('names a missing archive', async () => {
    await expect(readTarGz(join(root, 'absent.tar.gz'), () => {})).rejects.toThrow(/ENOENT.*absent\.tar\.gz/);
  });
});
