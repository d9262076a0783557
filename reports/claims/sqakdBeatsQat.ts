// Claim 1 of SPEC section 6: in every setting of Tables 4-6, the QAT method with SQAKD (no labels) beats the method
// alone. Each pair of qatPairs.ts is judged on the means of its finished seeds; a pair whose difference is within its
// seed spread, or that rests on a single seed, is flagged, since such a win is not a measured one.
import { type QatPair, qatPairs } from '../qatPairs.ts';
import type { ReportCell } from '../reportCell.ts';
import { formatDifference } from '../seedStats.ts';
import {
  CLAIM_DECIMALS, type ClaimCheck, combineVerdicts, count, missingOf, rounded, signed, unique, type Verdict,
} from './claimVerdict.ts';

const STATEMENT = 'In every cell of Tables 4-6, method + SQAKD beats the method alone (top-1), without labels.';

/** The cells a pair still needs: each side's unfinished cells, or the side in words when it has none. */
export function pairMissing(p: QatPair): string[] {
  return [...missingOf(p.baselineCells, `ce student of ${p.label}`), ...missingOf(p.sqakdCells, `sqakd student of ${p.label}`)];
}

/** Every cell the pairs still need; a store without any pair needs a pair. */
export function pairsMissing(pairs: QatPair[]): string[] {
  return pairs.length ? unique(pairs.flatMap(pairMissing)) : ['ce and sqakd students of any quantized setting (Tables 4-6)'];
}

/** Whether |SQAKD - baseline| is no larger than the standard error of the difference (only with several seeds). */
export function withinSpread(p: QatPair): boolean {
  return p.diff !== null && p.diff.stdError !== null && Math.abs(p.diff.diff) <= p.diff.stdError;
}

function singleSeed(p: QatPair): boolean {
  return p.diff !== null && (p.diff.n[0] === 1 || p.diff.n[1] === 1);
}

function pairVerdict(p: QatPair): Verdict {
  if (!p.diff) return 'not enough data';
  return p.diff.diff > 0 ? 'supported' : 'contradicted';
}

function evidenceRow(p: QatPair): (string | number | null)[] {
  const notes = [
    ...(withinSpread(p) ? ['within spread'] : []),
    ...(singleSeed(p) ? ['1 seed'] : []),
    ...(pairMissing(p).length ? [`missing: ${pairMissing(p).join(', ')}`] : []),
  ];
  return [
    p.label, rounded(p.teacher?.mean), rounded(p.baseline?.mean), rounded(p.sqakd?.mean), rounded(p.diff?.diff),
    rounded(p.diff?.stdError), `${p.sqakd?.n ?? 0}/${p.baseline?.n ?? 0}`, pairVerdict(p), notes.join('; '),
  ];
}

function caveats(complete: QatPair[]): string {
  const spread = complete.filter(withinSpread).length;
  const single = complete.filter(singleSeed).length;
  return ` ${spread} of ${complete.length} within the seed spread; ${single} of ${complete.length} rest on a single seed.`;
}

/** Claim 1: SQAKD against the quantizer alone (the `ce` student), in every setting of the store. */
export function checkSqakdBeatsQat(cells: ReportCell[]): ClaimCheck {
  const pairs = qatPairs(cells);
  const missing = pairsMissing(pairs);
  const complete = pairs.filter((p) => p.diff !== null);
  const losses = complete.filter((p) => pairVerdict(p) === 'contradicted');
  const verdict = combineVerdicts(pairs.map(pairVerdict), missing.length);
  let summary: string;
  if (!complete.length) {
    summary = `No pair has finished ce and sqakd results (${count(pairs.length, 'pair')} in the store).`;
  } else if (losses.length) {
    const named = losses.map((p) => `${p.label} (${formatDifference(p.diff, CLAIM_DECIMALS)} points)`).join(', ');
    summary = `SQAKD does not beat the QAT baseline in ${losses.length} of ${complete.length} complete pairs: ${named}.` +
      caveats(complete);
  } else {
    const diffs = complete.map((p) => p.diff!.diff);
    const [low, high] = [Math.min(...diffs), Math.max(...diffs)];
    const range = low === high ? `by ${signed(low)} points` : `by ${signed(low)} to ${signed(high)} points`;
    const scope = verdict === 'supported'
      ? `in all ${count(complete.length, 'pair')}`
      : `in every complete pair (${complete.length} of ${pairs.length}; ${count(missing.length, 'cell')} missing)`;
    summary = `SQAKD beats the QAT baseline ${scope} ${range}.` + caveats(complete);
  }
  return {
    claim: 1, statement: STATEMENT, verdict, summary, missing,
    evidence: {
      columns: ['setting', 'teacher top-1', 'baseline (ce) top-1', 'sqakd top-1', 'sqakd - baseline', 'std error',
        'seeds (sqakd/ce)', 'verdict', 'note'],
      rows: pairs.map(evidenceRow),
    },
  };
}
