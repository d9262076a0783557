// Several seeds of one cell: the mean, the sample standard deviation and n of a number, and the difference of two
// such means with its spread. A report compares means, never single seeds, and says when a number rests on one seed.
import type { ReportCell } from './reportCell.ts';

/** A number over seeds. `std` is the sample standard deviation (n - 1), null for a single seed. */
export interface SeedStats {
  mean: number;
  std: number | null;
  n: number;
  values: number[];
}

/** The statistics of the values; null when there are none. */
export function seedStats(values: number[]): SeedStats | null {
  if (!values.length) return null;
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n, values: [...values] };
}

/** The top-1 of a side's finished cells over their seeds; null when none has finished. */
export function finishedTop1(cells: Pick<ReportCell, 'state' | 'top1'>[]): SeedStats | null {
  return seedStats(cells.filter((c) => c.state === 'finished' && c.top1 !== null).map((c) => c.top1!));
}

/** a - b between means, with the standard error of the difference (null unless both have several seeds). */
export interface MeanDifference {
  diff: number;
  /** sqrt(sa^2/na + sb^2/nb), Welch's standard error. */
  stdError: number | null;
  n: [number, number];
}

/** The difference of two means; null when either is missing. */
export function meanDifference(a: SeedStats | null, b: SeedStats | null): MeanDifference | null {
  if (!a || !b) return null;
  const stdError = a.std !== null && b.std !== null ? Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n) : null;
  return { diff: a.mean - b.mean, stdError, n: [a.n, b.n] };
}

/** `91.23 ± 0.41 (n=3)`, or `91.23 (1 seed)`; `-` for none. */
export function formatSeedStats(s: SeedStats | null, decimals: number): string {
  if (!s) return '-';
  return s.std === null ? `${s.mean.toFixed(decimals)} (1 seed)` : `${s.mean.toFixed(decimals)} ± ${s.std.toFixed(decimals)} (n=${s.n})`;
}

/** `+1.20 ± 0.35`, or `+1.20` without a spread; `-` for none. */
export function formatDifference(d: MeanDifference | null, decimals: number): string {
  if (!d) return '-';
  // Rounded first, so that -0.001 reads +0.00, not -0.00.
  const shown = Number(d.diff.toFixed(decimals)) || 0;
  const text = `${shown >= 0 ? '+' : ''}${shown.toFixed(decimals)}`;
  return d.stdError === null ? text : `${text} ± ${d.stdError.toFixed(decimals)}`;
}
