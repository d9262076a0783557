// The verdict on one claim of SPEC section 6, as every claim file returns it, and the rules the claims share: which
// cells a comparison still needs, how the verdicts of several comparisons (or of a claim's parts) combine, and how
// the numbers of an evidence table are rounded.
import type { ReportCell } from '../reportCell.ts';

export type Verdict = 'supported' | 'contradicted' | 'not enough data';

/** One claim checked against a run store's cells. */
export interface ClaimCheck {
  /** 1..5, the claim's number in SPEC section 6. */
  claim: number;
  /** The claim in words (SPEC section 6). */
  statement: string;
  verdict: Verdict;
  /** One or two sentences with the numbers behind the verdict. */
  summary: string;
  /** Cells whose results are needed and absent or unfinished: ids, or described in words when there is no cell. */
  missing: string[];
  /** The table behind the verdict, numbers rounded to CLAIM_DECIMALS. */
  evidence: { columns: string[]; rows: (string | number | null)[][] };
  /** The halves of a two-part claim (3, 4), each with its own verdict. */
  parts?: { name: string; verdict: Verdict; summary: string }[];
}

/** Decimals of every number a claim shows: a difference of 0.001 points is noise. */
export const CLAIM_DECIMALS = 2;

/** A number rounded to CLAIM_DECIMALS for an evidence table (never -0); null stays null. */
export function rounded(x: number | null | undefined): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const r = Math.round(x * 10 ** CLAIM_DECIMALS) / 10 ** CLAIM_DECIMALS;
  return r === 0 ? 0 : r;
}

/** A number in words: `91.23`. */
export function fixed(x: number): string {
  return x.toFixed(CLAIM_DECIMALS);
}

/** A difference in points, signed: `+1.20`, `-0.35`. */
export function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(CLAIM_DECIMALS)}`;
}

/** The ids of the cells that have not finished (running, failed, not run, corrupt). */
export function unfinishedIds(cells: ReportCell[]): string[] {
  return cells.filter((c) => c.state !== 'finished').map((c) => c.id);
}

/** What one side of a comparison still needs: its unfinished cells by id, or the side in words when it has no cell. */
export function missingOf(cells: ReportCell[], description: string): string[] {
  return cells.length ? unfinishedIds(cells) : [description];
}

/** Each entry once, in first-seen order. */
export function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/**
 * Comparisons (or a claim's parts) to one verdict: one contradiction is enough to contradict, since finished results
 * cannot be outvoted by the others; support needs every comparison to support and nothing to be missing, since a
 * cell still to come could be the one that contradicts; anything else is not enough data.
 */
export function combineVerdicts(verdicts: Verdict[], missing: number): Verdict {
  if (verdicts.includes('contradicted')) return 'contradicted';
  if (verdicts.length && verdicts.every((v) => v === 'supported') && missing === 0) return 'supported';
  return 'not enough data';
}

/** `n thing` or `n things`. */
export function count(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`;
}
