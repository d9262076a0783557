// Reading a store: a cell matrix.json lists whose cell.json is gone is named among the problems (and reported as
// corrupt); a landscape job's folder is no cell of the report, though a store made by hand may list it.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readStoreCells } from '../../reports/readStoreCells.ts';

describe('reading a run store', () => {
  it('names a listed cell without cell.json, and leaves landscape jobs out', () => {
    const root = mkdtempSync(join(tmpdir(), 'sqakd-store-'));
    const job = 'sqakd-x/landscape-0123456789/whole';
    mkdirSync(join(root, job), { recursive: true });
    writeFileSync(join(root, job, 'cell.json'), JSON.stringify({ id: job, kind: 'landscape', config: {}, landscape: {} }));
    mkdirSync(join(root, 'gone'));
    writeFileSync(join(root, 'matrix.json'), JSON.stringify({ spec: {}, cells: ['gone', job] }));
    const reading = readStoreCells(root, 'store');
    expect(reading.cells.map((c) => [c.id, c.state])).toEqual([['gone', 'corrupt']]);
    expect(reading.problems).toEqual([`${join(root, 'gone', 'cell.json')} is missing`]);
  });
});
