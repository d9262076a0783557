// A small reader of gzipped tar archives (ustar, with GNU long names and pax path records), streaming over
// node:zlib so a 170 MB archive is never held whole in memory. Enough for the dataset archives; not a general tar.
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
}

/** Calls `onEntry` for each entry of a .tar.gz in order, with the contents of regular files. */
export async function readTarGz(archive: string, onEntry: (entry: TarEntry, data: Buffer | null) => void): Promise<void> {
  const parser = new TarParser(archive, onEntry);
  const source = createReadStream(archive);
  const gunzip = createGunzip();
  // pipe() does not forward a read error (a missing archive) to the gunzip stream being iterated: forward it.
  source.on('error', (e) => gunzip.destroy(e));
  try {
    for await (const chunk of source.pipe(gunzip)) parser.push(chunk as Buffer);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('Z_')) {
      throw new Error(`${archive} is not a valid gzip file or is truncated (${(e as Error).message})`);
    }
    throw e;
  }
  parser.end();
}

/** Extracts the regular files and folders of a .tar.gz under `destination`; returns the paths written. */
export async function extractTarGz(archive: string, destination: string): Promise<string[]> {
  const written: string[] = [];
  await readTarGz(archive, (entry, data) => {
    const target = safeJoin(destination, entry.path, archive);
    if (entry.type === 'directory') mkdirSync(target, { recursive: true });
    if (entry.type !== 'file' || !data) return;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    written.push(target);
  });
  return written;
}

/** `path` under `root`, refusing absolute paths and '..' (an archive must not write outside the destination). */
function safeJoin(root: string, path: string, archive: string): string {
  const clean = normalize(path);
  if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
    throw new Error(`${archive} holds the entry '${path}', which points outside the folder it is extracted to`);
  }
  return join(root, clean);
}

/** Incremental parser: fed decompressed chunks, it emits entries as their bytes complete. */
class TarParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0;
  private current: { entry: TarEntry; kind: string; padded: number } | null = null;
  private longName: string | null = null;
  private paxPath: string | null = null;
  private finished = false;

  constructor(private readonly archive: string, private readonly onEntry: (entry: TarEntry, data: Buffer | null) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.finished) return;
      const need = this.current ? this.current.padded : BLOCK;
      if (this.pendingBytes < need) return;
      const bytes = this.take(need);
      if (this.current) this.finishEntry(bytes);
      else this.readHeader(bytes);
    }
  }

  end(): void {
    if (this.finished) return;
    if (this.current || this.pendingBytes > 0) {
      throw new Error(`${this.archive} is truncated: it ends inside ${this.current ? `'${this.current.entry.path}'` : 'a header'}`);
    }
    // Archives end with two zero blocks; a stream that stops between entries without them was cut short.
    throw new Error(`${this.archive} is truncated: no end-of-archive marker after byte ${this.offset}`);
  }

  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    this.offset += n;
    return out;
  }

  private readHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.finished = true;
      return;
    }
    const stored = octal(block, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
    if (stored !== sum) {
      throw new Error(`${this.archive} is corrupt: bad tar header checksum at byte ${this.offset - BLOCK}`);
    }
    const kind = String.fromCharCode(block[156] || 0x30);
    const name = text(block, 0, 100);
    const prefix = block.toString('latin1', 257, 262) === 'ustar' ? text(block, 345, 155) : '';
    const size = octal(block, 124, 12);
    const path = this.longName ?? this.paxPath ?? (prefix ? `${prefix}/${name}` : name);
    if (kind !== 'L' && kind !== 'x' && kind !== 'g') {
      this.longName = null;
      this.paxPath = null;
    }
    const type = kind === '0' || kind === '7' ? 'file' : kind === '5' ? 'directory' : 'other';
    this.current = { entry: { path, type, size }, kind, padded: Math.ceil(size / BLOCK) * BLOCK };
    if (this.current.padded === 0) this.finishEntry(Buffer.alloc(0));
  }

  private finishEntry(bytes: Buffer): void {
    const { entry, kind } = this.current!;
    this.current = null;
    const data = bytes.subarray(0, entry.size);
    if (kind === 'L') this.longName = text(data, 0, data.length);
    else if (kind === 'x') this.paxPath = paxPath(data) ?? this.paxPath;
    else if (kind !== 'g') this.onEntry(entry, entry.type === 'file' ? Buffer.from(data) : null);
  }
}

/** A NUL-terminated string field. */
function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? field.length : end);
}

/** An octal number field (NUL- or space-terminated), or a base-256 one (GNU, for sizes of 8 GiB and more). */
function octal(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i];
    return value;
  }
  const field = text(block, start, length).trim();
  return field === '' ? 0 : parseInt(field, 8);
}

/** The `path` record of a pax extended header ("<length> path=<value>\n" records). */
function paxPath(data: Buffer): string | null {
  let found: string | null = null;
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.toString('latin1', at, space), 10);
    if (!(length > 0)) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    if (record.startsWith('path=')) found = record.slice(5);
    at += length;
  }
  return found;
}
