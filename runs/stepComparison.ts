// `bench step --repeat N`: our step and the PyTorch reference timed alternately N times, because these machines are
// shared and noisy: a neighbour's burst slows whichever run it lands on, so a single pair can mislead by tens of
// percent. The median of each side and the median of the pairs' ratios are the figures to quote.

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (!values.length) throw new Error('the median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface StepComparison {
  repeat: number;
  /** Images per second of each of our runs and each reference run, in the order they ran (ours first in a pair). */
  ours: number[];
  reference: number[];
  /** ours[i] / reference[i]. */
  ratios: number[];
  oursMedian: number;
  referenceMedian: number;
  medianRatio: number;
}

/** The comparison of alternating runs' images per second. */
export function compareStepRuns(ours: readonly number[], reference: readonly number[]): StepComparison {
  if (ours.length !== reference.length || !ours.length) {
    throw new Error(`alternating runs come in pairs: got ${ours.length} of ours and ${reference.length} reference runs`);
  }
  const ratios = ours.map((x, i) => x / reference[i]);
  const round = (x: number, digits: number) => Number(x.toFixed(digits));
  return {
    repeat: ours.length, ours: [...ours], reference: [...reference], ratios: ratios.map((r) => round(r, 3)),
    oursMedian: round(median(ours), 1), referenceMedian: round(median(reference), 1), medianRatio: round(median(ratios), 3),
  };
}
