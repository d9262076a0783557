// The few numbers a reader wants before any table: how many cells are done, running, failed; where SQAKD beat the
// quantizer alone and by how much; where it ranks among the KD methods; and each claim's verdict. The HTML page and
// the command line both print these.
import type { ClaimCheck } from './claims/claimVerdict.ts';
import type { KdComparison } from './kdComparison.ts';
import type { QatPair } from './qatPairs.ts';
import type { CellState, ReportCell } from './reportCell.ts';

export interface ReportSummary {
  cells: number;
  states: Partial<Record<CellState, number>>;
  /** QAT pairs with both sides finished, and those where SQAKD's mean is higher. */
  completePairs: number;
  sqakdWins: number;
  /** The largest and smallest SQAKD - alone differences, with their settings. */
  largestGain: { label: string; diff: number } | null;
  smallestGain: { label: string; diff: number } | null;
  /** SQAKD's rank (1 = best) among every method of each Table-7 setting with it finished. */
  kdRanks: { label: string; rank: number; of: number }[];
  claims: { claim: number; verdict: ClaimCheck['verdict'] }[];
}

/** SQAKD's rank among the finished methods of a Table-7 setting; null unless SQAKD finished. */
function sqakdRank(c: KdComparison): { rank: number; of: number } | null {
  if (!c.sqakd) return null;
  const means = [c.ce, c.kd, c.sqakd, ...c.rows.flatMap((r) => [r.withLabels, r.labelFree])].filter((s) => s !== null).map((s) => s.mean);
  return { rank: 1 + means.filter((m) => m > c.sqakd!.mean).length, of: means.length };
}

/** The summary of a report. */
export function reportSummary(cells: ReportCell[], pairs: QatPair[], comparisons: KdComparison[], claims: ClaimCheck[]): ReportSummary {
  const states: Partial<Record<CellState, number>> = {};
  for (const c of cells) states[c.state] = (states[c.state] ?? 0) + 1;
  const complete = pairs.filter((p) => p.diff).sort((a, b) => b.diff!.diff - a.diff!.diff);
  const gain = (p: QatPair | undefined) => (p ? { label: p.label, diff: p.diff!.diff } : null);
  return {
    cells: cells.length, states, completePairs: complete.length, sqakdWins: complete.filter((p) => p.diff!.diff > 0).length,
    largestGain: gain(complete[0]), smallestGain: gain(complete.at(-1)),
    kdRanks: comparisons.flatMap((c) => {
      const r = sqakdRank(c);
      return r ? [{ label: c.label, ...r }] : [];
    }),
    claims: claims.map((c) => ({ claim: c.claim, verdict: c.verdict })),
  };
}

const STATE_ORDER: CellState[] = ['finished', 'running', 'interrupted', 'failed', 'corrupt', 'not run'];

/** The summary as a few lines of plain text. */
export function summaryLines(s: ReportSummary): string[] {
  if (!s.cells) return ['The store holds no cells yet: run a matrix into it first (sqakd matrix).'];
  const signed = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
  const lines = [`${s.cells} cells: ${STATE_ORDER.filter((k) => s.states[k]).map((k) => `${s.states[k]} ${k}`).join(', ')}.`];
  if (s.completePairs) {
    lines.push(`SQAKD beat the quantizer alone in ${s.sqakdWins} of ${s.completePairs} finished setting(s); largest gain ` +
      `${signed(s.largestGain!.diff)} points (${s.largestGain!.label})` +
      (s.completePairs > 1 ? `, smallest ${signed(s.smallestGain!.diff)} (${s.smallestGain!.label}).` : '.'));
  } else {
    lines.push('No setting has both the quantizer alone and with SQAKD finished yet.');
  }
  for (const r of s.kdRanks) lines.push(`Table 7, ${r.label}: SQAKD ranks ${r.rank} of ${r.of} methods.`);
  lines.push(`Claims: ${s.claims.map((c) => `${c.claim} ${c.verdict}`).join('; ')}.`);
  return lines;
}
