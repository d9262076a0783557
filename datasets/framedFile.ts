// The layout of sqakd's binary files (pixel caches, checkpoints): an 8-character magic, the byte length of a UTF-8
// JSON header as a little-endian uint32, the header, then the payload.
import { readSync } from 'node:fs';

const PREFIX_BYTES = 12;

/** The prefix and JSON header that open a framed file, ready to be written before its payload. */
export function framedHead(magic: string, header: unknown): [Buffer, Buffer] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(magic, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  return [prefix, json];
}

/** The JSON header of an open framed file and where its payload starts; undefined if it is not one or is cut short. */
export function readFramedHeader<Header>(fd: number, magic: string): { header: Header; payloadOffset: number } | undefined {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  if (readSync(fd, prefix, 0, PREFIX_BYTES, 0) < PREFIX_BYTES || prefix.toString('latin1', 0, 8) !== magic) return undefined;
  const json = Buffer.alloc(prefix.readUInt32LE(8));
  if (readSync(fd, json, 0, json.length, PREFIX_BYTES) < json.length) return undefined;
  try {
    return { header: JSON.parse(json.toString('utf8')) as Header, payloadOffset: PREFIX_BYTES + json.length };
  } catch {
    return undefined;
  }
}
