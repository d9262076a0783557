import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { framedHead, readFramedHeader } from '../../datasets/framedFile.ts';

const dir = mkdtempSync(join(tmpdir(), 'sqakd-framed-'));

function headerOf(name: string, bytes: Buffer, magic = 'TESTMAG1') {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  try {
    return readFramedHeader<{ answer: number }>(fd, magic);
  } finally {
    closeSync(fd);
  }
}

describe('framed files', () => {
  const payload = Buffer.from([1, 2, 3]);
  const whole = Buffer.concat([...framedHead('TESTMAG1', { answer: 42 }), payload]);

  it('reads back the header written, with the payload right after it', () => {
    const read = headerOf('whole', whole);
    expect(read?.header).toEqual({ answer: 42 });
    expect(whole.subarray(read!.payloadOffset)).toEqual(payload);
    expect(read!.payloadOffset).toBe(12 + JSON.stringify({ answer: 42 }).length);
  });

  it('answers undefined for another magic, a file cut inside its header, or a header that is not JSON', () => {
    expect(headerOf('magic', whole, 'OTHERMG1')).toBeUndefined();
    expect(headerOf('cut', whole.subarray(0, 15))).toBeUndefined();
    expect(headerOf('short', whole.subarray(0, 5))).toBeUndefined();
    const garbled = Buffer.from(whole);
    garbled.write('#', 12, 'latin1');
    expect(headerOf('garbled', garbled)).toBeUndefined();
  });
});
