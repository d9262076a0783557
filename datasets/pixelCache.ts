// A cache of decoded pixels, so that folders of JPEGs (Tiny-ImageNet: 110k files, minutes to decode in JS) are
// decoded once. A cache file is named by a key computed from the source folder's file list (names, sizes,
// modification times), so any change to the files makes a new key: the stale file is no longer found and is
// deleted when the new one is written. It lives under the data directory when that is writable, else under
// os.tmpdir().
import { closeSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { framedHead, readFramedHeader } from './framedFile.ts';
import type { ImageSet } from './imageSet.ts';

const MAGIC = 'SQAKDPX1';
const CACHE_FOLDER = '.sqakd-cache';
// Reads and writes in pieces: a Tiny-ImageNet train split is 1.2 GB, near fs.readFileSync's 2 GiB limit.
const CHUNK = 64 * 1024 * 1024;

interface Header {
  key: string;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
}

/** Folders a cache may live in, in order of preference. */
export function cacheFolders(dataDir: string): string[] {
  return [join(dataDir, CACHE_FOLDER), join(tmpdir(), 'sqakd-cache')];
}

/**
 * The image set cached under `name` and `key`, or `build()`'s result, which is then cached (in the first folder
 * that accepts the file; a failure to write anywhere only costs the next run a rebuild).
 */
export function cachedImageSet(folders: string[], name: string, key: string, build: () => ImageSet): ImageSet {
  const file = `${name}-${key.slice(0, 24)}.pixels`;
  for (const folder of folders) {
    const cached = readCache(join(folder, file), key);
    if (cached) return cached;
  }
  const set = build();
  for (const folder of folders) {
    if (writeCache(folder, file, name, key, set)) break;
  }
  return set;
}

function readCache(path: string, key: string): ImageSet | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const framed = readFramedHeader<Header>(fd, MAGIC);
    if (!framed) return corrupt(path);
    const { header, payloadOffset } = framed;
    const pixels = header.count * header.height * header.width * header.channels;
    if (header.key !== key || statSync(path).size !== payloadOffset + header.count + pixels) return corrupt(path);
    const labels = new Uint8Array(header.count);
    const images = new Uint8Array(pixels);
    readAll(fd, labels, payloadOffset);
    readAll(fd, images, payloadOffset + header.count);
    return { images, labels, ...shapeOf(header) };
  } catch {
    return corrupt(path);
  } finally {
    closeSync(fd);
  }
}

function shapeOf(h: Omit<Header, 'key'>): Omit<ImageSet, 'images' | 'labels'> {
  return { count: h.count, height: h.height, width: h.width, channels: h.channels, classes: h.classes };
}

/** A cache file that cannot be used is removed (best effort) so that it is rebuilt. */
function corrupt(path: string): undefined {
  try {
    unlinkSync(path);
  } catch {
    // read-only location: it will be shadowed by a fresh cache elsewhere
  }
  return undefined;
}

function readAll(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length;) {
    const n = readSync(fd, into, done, Math.min(CHUNK, into.length - done), position + done);
    if (n <= 0) throw new Error('short read');
    done += n;
  }
}

function writeCache(folder: string, file: string, name: string, key: string, set: ImageSet): boolean {
  const temporary = join(folder, `${file}.${process.pid}.tmp`);
  try {
    mkdirSync(folder, { recursive: true });
    const head = framedHead(MAGIC, { key, ...shapeOf(set) } satisfies Header);
    const fd = openSync(temporary, 'w');
    try {
      for (const part of [...head, set.labels, set.images]) {
        for (let done = 0; done < part.length;) done += writeSync(fd, part, done, Math.min(CHUNK, part.length - done));
      }
    } finally {
      closeSync(fd);
    }
    // Written whole, then renamed: a run killed mid-write leaves no half cache behind under the real name.
    renameSync(temporary, join(folder, file));
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was written
    }
    return false;
  }
  removeStale(folder, name, file);
  return true;
}

/** Deletes the caches of `name` made from an earlier file list. */
function removeStale(folder: string, name: string, keep: string): void {
  for (const entry of readdirSync(folder)) {
    if (entry !== keep && entry.startsWith(`${name}-`) && entry.endsWith('.pixels')) {
      try {
        unlinkSync(join(folder, entry));
      } catch {
        // another process may have removed it
      }
    }
  }
}
