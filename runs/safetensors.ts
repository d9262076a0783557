// The safetensors format, encoded and decoded without touching the file system or tfjs: an 8-byte little-endian
// header length N, N bytes of JSON ({ name: { dtype, shape, data_offsets }, __metadata__: { string: string } }),
// then the tensors' bytes, row-major and little-endian, with offsets relative to the end of the header.
// Reading is strict because the bytes may come from anywhere: every offset, size and dtype is checked before a
// single value is copied, and the first problem found is one line naming the file.

/** The dtypes the suite stores; the format defines more, which decoding names and refuses. */
export type SafetensorsDtype = 'F32' | 'I32';

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** The reference implementation's limit; a larger claimed header is a damaged or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;
const ITEM_BYTES: Record<SafetensorsDtype, number> = { F32: 4, I32: 4 };
/** Dtypes the format defines that the suite does not read: named in the error, unlike a misspelt one. */
const OTHER_FORMAT_DTYPES = new Set(['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'U32', 'F64', 'I64', 'U64',
  'F8_E4M3', 'F8_E5M2']);
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The tensor's values as little-endian bytes (a view when the host is little-endian, as nearly every one is). */
function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => (data instanceof Float32Array ? view.setFloat32(i * 4, v, true) : view.setInt32(i * 4, v, true)));
  return out;
}

/** Encodes tensors (in the map's order) and string metadata as a safetensors file's bytes. */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new Error(`safetensors metadata ${key} must be a string, got ${typeof value}`);
  }
  if (Object.keys(metadata).length) header[METADATA_KEY] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (!name || name === METADATA_KEY) throw new Error(`safetensors tensor name '${name}' is reserved or empty`);
    if (!(t.dtype in ITEM_BYTES)) throw new Error(`safetensors tensor ${name} has dtype ${t.dtype}; the suite writes F32 and I32`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors tensor ${name} has shape [${t.shape}]`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors tensor ${name} has shape [${t.shape}] but ${t.data.length} values`);
    }
    if ((t.dtype === 'F32') !== (t.data instanceof Float32Array)) throw new Error(`safetensors tensor ${name}: ${t.dtype} data of the wrong array type`);
    const bytes = littleEndianBytes(t.data);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  // Spaces pad the header so the tensors start 8-byte aligned, as the reference writer does (readers may map them).
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (json.length % 8)) % 8;
  if (padding) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one header entry; returns it typed, or throws naming the tensor and what is wrong with it. */
function checkEntry(name: string, raw: unknown, bufferBytes: number, fail: (problem: string) => never): HeaderEntry {
  if (!isPlainObject(raw)) fail(`tensor ${name} is not described by an object`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') fail(`tensor ${name} has no dtype`);
  if (!(dtype in ITEM_BYTES)) {
    fail(OTHER_FORMAT_DTYPES.has(dtype) ? `tensor ${name} has dtype ${dtype}, which the suite does not read (it reads F32 and I32)`
      : `tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor ${name} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`tensor ${name} has data_offsets [${begin}, ${end}] that end before they begin`);
  if (end > bufferBytes) fail(`tensor ${name} has data_offsets [${begin}, ${end}] past the ${bufferBytes} data bytes`);
  const expected = elementCount(shape) * ITEM_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== expected) {
    fail(`tensor ${name} spans ${end - begin} bytes; dtype ${dtype} of shape [${shape}] takes ${expected}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], data_offsets: [begin, end] };
}

/** Copies a tensor's values out of the file (a copy: the values outlive the file's buffer and need alignment). */
function readValues(bytes: Uint8Array, start: number, entry: HeaderEntry): Float32Array | Int32Array {
  const length = entry.data_offsets[1] - entry.data_offsets[0];
  const count = length / ITEM_BYTES[entry.dtype];
  if (LITTLE_ENDIAN_HOST) {
    const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length);
    return entry.dtype === 'F32' ? new Float32Array(copy) : new Int32Array(copy);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, length);
  const out = entry.dtype === 'F32' ? new Float32Array(count) : new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = entry.dtype === 'F32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
  return out;
}

/**
 * Decodes a safetensors file's bytes; `source` (the file's path) names it in errors. The data must be exactly the
 * tensors, back to back: overlapping tensors, holes and trailing bytes are all errors.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsContent {
  const fail: (problem: string) => never = (problem) => {
    throw new Error(`${source} is not a valid safetensors file: ${problem}`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8 of the header length`);
  const claimed = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (claimed > BigInt(MAX_HEADER_BYTES)) fail(`its header length ${claimed} is over the format's limit of ${MAX_HEADER_BYTES}`);
  const headerBytes = Number(claimed);
  if (8 + headerBytes > bytes.length) fail(`its header length ${headerBytes} runs past the file's ${bytes.length} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes)));
  } catch (e) {
    fail(`its header is not UTF-8 JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isPlainObject(header)) fail('its header is not a JSON object');
  const start = 8 + headerBytes;
  const bufferBytes = bytes.length - start;

  const metadata: Record<string, string> = {};
  const rawMetadata = header[METADATA_KEY];
  if (rawMetadata !== undefined) {
    if (!isPlainObject(rawMetadata)) fail(`its ${METADATA_KEY} is not an object`);
    for (const [key, value] of Object.entries(rawMetadata)) {
      if (typeof value !== 'string') fail(`its ${METADATA_KEY} entry ${key} is not a string`);
      metadata[key] = value;
    }
  }
  const entries = Object.entries(header).filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => [name, checkEntry(name, raw, bufferBytes, fail)] as const);

  // Sorted by position, each tensor must begin where the one before ended and the last must end the file.
  const byOffset = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let expectedBegin = 0;
  let previous = '';
  for (const [name, { data_offsets: [begin, end] }] of byOffset) {
    if (begin < expectedBegin) fail(`tensors ${previous} and ${name} overlap (at data byte ${begin})`);
    if (begin > expectedBegin) fail(`data bytes ${expectedBegin} to ${begin} belong to no tensor (before ${name})`);
    expectedBegin = end;
    previous = name;
  }
  if (expectedBegin !== bufferBytes) fail(`${bufferBytes - expectedBegin} bytes after the last tensor belong to no tensor`);

  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of entries) {
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, data: readValues(bytes, start + entry.data_offsets[0], entry) });
  }
  return { tensors, metadata };
}
