// A report's table, independent of its format: titled columns and rows whose values are text, numbers, statistics
// over seeds or differences between means. tableFormats.ts writes it as Markdown, CSV and HTML, so the three always
// hold the same numbers.
import type { MeanDifference, SeedStats } from './seedStats.ts';

export type TableValue = string | number | null | { stats: SeedStats | null } | { diff: MeanDifference | null };

export interface TableColumn {
  key: string;
  title: string;
}

export interface ReportTable {
  /** The file stem (`table4`, `table7-cifar10-resnet20-w2a2`). */
  id: string;
  title: string;
  /** Lines printed under the table: what its numbers are, and what is missing. */
  notes: string[];
  columns: TableColumn[];
  rows: Record<string, TableValue>[];
}

/** Decimals of accuracies (percent) and their differences (points) in every table. */
export const ACCURACY_DECIMALS = 2;

/** A statistics cell. */
export function statsValue(stats: SeedStats | null): TableValue {
  return { stats };
}

/** A difference cell. */
export function diffValue(diff: MeanDifference | null): TableValue {
  return { diff };
}
