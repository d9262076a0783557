// Claim 5 of SPEC section 6: the largest gain SQAKD reports over a standalone QAT method is 15.86 points. Ours is
// the largest SQAKD - baseline difference of means over the complete pairs of qatPairs.ts, judged against the
// paper's figure with a tolerance, and always shown beside how many of the store's pairs it is over.
import { paperTableOf } from '../paperTables.ts';
import { type QatPair, qatPairs } from '../qatPairs.ts';
import type { ReportCell } from '../reportCell.ts';
import { formatDifference } from '../seedStats.ts';
import { CLAIM_DECIMALS, type ClaimCheck, count, fixed, rounded, signed, type Verdict } from './claimVerdict.ts';
import { pairsMissing } from './sqakdBeatsQat.ts';

const STATEMENT = 'The largest gain SQAKD reports over a standalone QAT method is 15.86 points (across 1-8 bit settings).';

/** The paper's largest SQAKD gain over a QAT method alone, in top-1 points. */
export const PAPER_LARGEST_GAIN = 15.86;

/**
 * How far below the paper's figure our largest gain may fall and still support it, in points. The figure is the
 * difference of two runs in one setting, so it carries the seed noise of two low-bit students
 * (tenths of a point to about a point each), and ours also crosses frameworks; one point allows that noise without
 * accepting a gain of another size. A larger gain than the paper's still supports a claim about how much SQAKD adds.
 */
export const LARGEST_GAIN_TOLERANCE = 1;

function gainVerdict(gain: number, missing: number, paperPairs: number): Verdict {
  if (gain >= PAPER_LARGEST_GAIN - LARGEST_GAIN_TOLERANCE) return 'supported';
  // A maximum over part of the store can only grow as the rest comes in (an unfinished pair may be the one with the
  // largest gain, an unfinished seed may move a mean), so a shortfall contradicts only a store with nothing missing;
  // and the paper's figure comes from its Tables 4-6, so a store of other settings (MNIST, a synthetic set) says
  // nothing against it.
  return missing || !paperPairs ? 'not enough data' : 'contradicted';
}

function comparedWithPaper(gain: number): string {
  const gap = gain - PAPER_LARGEST_GAIN;
  if (Math.abs(gap) <= LARGEST_GAIN_TOLERANCE) {
    return `within ${fixed(LARGEST_GAIN_TOLERANCE)} of the paper's ${fixed(PAPER_LARGEST_GAIN)} (${signed(gap)})`;
  }
  return gap > 0 ? `${fixed(gap)} points larger than the paper's ${fixed(PAPER_LARGEST_GAIN)}` :
    `${fixed(-gap)} points below the paper's ${fixed(PAPER_LARGEST_GAIN)} (tolerance ${fixed(LARGEST_GAIN_TOLERANCE)})`;
}

function finishedIds(cells: ReportCell[]): string {
  return cells.filter((c) => c.state === 'finished').map((c) => c.id).join(', ');
}

/** Claim 5: our largest SQAKD gain over the quantizer alone, against the paper's 15.86 points. */
export function checkLargestGain(cells: ReportCell[]): ClaimCheck {
  const pairs = qatPairs(cells);
  const missing = pairsMissing(pairs);
  const complete = pairs.filter((p) => p.diff !== null).sort((a, b) => b.diff!.diff - a.diff!.diff);
  const coverage = `over ${complete.length} complete of ${count(pairs.length, 'pair')} in the store ` +
    "(the paper's figure is over 1-8 bit settings on three datasets)";
  const best: QatPair | undefined = complete[0];
  const paperPairs = complete.filter((p) => paperTableOf(p.dataset, p.arch) !== null).length;
  const verdict: Verdict = best ? gainVerdict(best.diff!.diff, missing.length, paperPairs) : 'not enough data';
  const outsidePaper = best && !paperPairs ? ' None of these is a setting of the paper\'s Tables 4-6, where its figure comes from.' : '';
  const summary = best
    ? `The largest SQAKD gain is ${formatDifference(best.diff, CLAIM_DECIMALS)} points, in ${best.label} ` +
      `(sqakd ${finishedIds(best.sqakdCells)}; ce ${finishedIds(best.baselineCells)}), ` +
      `${comparedWithPaper(best.diff!.diff)}; ${coverage}.${outsidePaper}`
    : `No pair has finished ce and sqakd results, so there is no gain to compare with ${fixed(PAPER_LARGEST_GAIN)}; ${coverage}.`;
  return {
    claim: 5, statement: STATEMENT, verdict, summary, missing,
    evidence: {
      columns: ['setting', 'baseline (ce) top-1', 'sqakd top-1', 'gain', 'std error', 'seeds (sqakd/ce)', 'gain - paper',
        'sqakd cells', 'ce cells'],
      rows: complete.map((p) => [
        p.label, rounded(p.baseline!.mean), rounded(p.sqakd!.mean), rounded(p.diff!.diff), rounded(p.diff!.stdError),
        `${p.sqakd!.n}/${p.baseline!.n}`, rounded(p.diff!.diff - PAPER_LARGEST_GAIN), finishedIds(p.sqakdCells),
        finishedIds(p.baselineCells),
      ]),
    },
  };
}
