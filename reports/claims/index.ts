// The five claims of SPEC section 6, each checked against a run store's cells: a verdict (supported, contradicted,
// or not enough data), the numbers behind it, and the cells it still needs.
import type { ReportCell } from '../reportCell.ts';
import { checkBeatsKdMethods } from './beatsKdMethods.ts';
import { checkCeHurtsKl } from './ceHurtsKl.ts';
import type { ClaimCheck } from './claimVerdict.ts';
import { checkFasterConvergence } from './fasterConvergence.ts';
import { checkLargestGain } from './largestGain.ts';
import { checkSqakdBeatsQat } from './sqakdBeatsQat.ts';

export type { ClaimCheck, Verdict } from './claimVerdict.ts';

/** Claims 1 to 5, in order. */
export function checkClaims(cells: ReportCell[]): ClaimCheck[] {
  return [checkSqakdBeatsQat(cells), checkFasterConvergence(cells), checkCeHurtsKl(cells), checkBeatsKdMethods(cells),
    checkLargestGain(cells)];
}
