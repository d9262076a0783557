// landscape.json and landscape.csv: a sweep's grid values per loss with their axes, what the directions are and how
// they were drawn, the model's and the data's identity, and the sharpness numbers at the trained point. The JSON is
// written with a fixed key order and fixed digits, so the same sweep gives the same bytes wherever it ran.
import { stringify } from 'csv-stringify/sync';

import { writeFileAtomic } from '../atomicWrite.ts';
import type { SharpnessResult } from './sharpness.ts';

export const LANDSCAPE_FILES = { json: 'landscape.json', csv: 'landscape.csv' } as const;

export interface LandscapeFile {
  format: 1;
  model: { checkpoint: string; dataset: string; arch: string; method: string; bits: string; seed: number };
  teacher: { checkpoint: string } | null;
  data: { dataset: string; split: 'test'; subset: number; seed: number; indices: string };
  directions: { kind: 'filter-normalised gaussian' | 'interpolation'; description: string; seeds: number[] };
  grid: { n: number; range: number; a: number[]; b: number[] };
  settings: { temperature: number; weights: { ce: number; kl: number } };
  /** Per loss, values[row b][column a]. */
  losses: Record<string, number[][]>;
  /** The losses at the trained point (the grid's centre). */
  centre: Record<string, number>;
  sharpness: Record<string, SharpnessResult>;
  sharpnessMethod: { hessianVectorProducts: string; radius: number; traceSamples: number; powerIterations: number };
}

/** Digits kept in landscape.json and .csv: float32 losses carry about 7. */
const SIGNIFICANT = 7;

function fixedDigits(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(SIGNIFICANT)) : value;
  if (Array.isArray(value)) return value.map(fixedDigits);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fixedDigits(v)]));
  return value;
}

/** The file's text. */
export function landscapeJson(file: LandscapeFile): string {
  return `${JSON.stringify(fixedDigits(file), null, 2)}\n`;
}

/** One row per grid point: a, b and each loss. */
export function landscapeCsv(file: LandscapeFile): string {
  const losses = Object.keys(file.losses);
  const rows: (number | string)[][] = [];
  file.grid.b.forEach((b, j) => file.grid.a.forEach((a, i) => {
    rows.push([fixedDigits(a) as number, fixedDigits(b) as number, ...losses.map((l) => fixedDigits(file.losses[l][j][i]) as number)]);
  }));
  return stringify(rows, { header: true, columns: ['a', 'b', ...losses] });
}

/** Writes landscape.json and landscape.csv into `dir`, atomically. */
export function writeLandscape(dir: string, file: LandscapeFile): void {
  writeFileAtomic(`${dir}/${LANDSCAPE_FILES.json}`, landscapeJson(file));
  writeFileAtomic(`${dir}/${LANDSCAPE_FILES.csv}`, landscapeCsv(file));
}
