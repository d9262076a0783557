// The verdicts on SPEC section 6's claims from small fixture stores: a store built to support each claim, one to
// contradict it and one with too little data, checking the verdict, the cells named as missing, and the numbers in
// the summary and evidence against values computed here from the fixture itself.
import { describe, expect, it } from 'vitest';

import { checkBeatsKdMethods } from '../../reports/claims/beatsKdMethods.ts';
import { checkCeHurtsKl } from '../../reports/claims/ceHurtsKl.ts';
import type { ClaimCheck } from '../../reports/claims/claimVerdict.ts';
import { checkFasterConvergence, convergenceVerdict } from '../../reports/claims/fasterConvergence.ts';
import { checkClaims } from '../../reports/claims/index.ts';
import { checkLargestGain, LARGEST_GAIN_TOLERANCE, PAPER_LARGEST_GAIN } from '../../reports/claims/largestGain.ts';
import { checkSqakdBeatsQat } from '../../reports/claims/sqakdBeatsQat.ts';
import type { EpochPoint, ReportCell } from '../../reports/reportCell.ts';
import { fixtureCell } from './fixtureCells.ts';

const W2 = 'cifar10 resnet20 ewgs (STE) W2A2';
const W4 = 'cifar10 resnet20 ewgs (STE) W4A4';
const W1 = 'cifar10 resnet20 ewgs (STE) W1A1';
const ELEVEN = ['at', 'nst', 'sp', 'rkd', 'crd', 'fitnet', 'cc', 'vid', 'fsp', 'ft', 'cktf'];

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleVariance(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

/** Welch's standard error of mean(a) - mean(b). */
function stdError(a: number[], b: number[]): number {
  return Math.sqrt(sampleVariance(a) / a.length + sampleVariance(b) / b.length);
}

function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Finished students of one method in one setting, one per top-1, seeds 1, 2, ... */
function students(method: string, top1s: number[], fields: Partial<ReportCell> = {}): ReportCell[] {
  return top1s.map((top1, i) => fixtureCell({ method, top1, seed: i + 1, ...fields }));
}

function row(check: ClaimCheck, setting: string): Record<string, string | number | null> {
  const found = check.evidence.rows.find((r) => r[0] === setting);
  if (!found) throw new Error(`no evidence row for ${setting}`);
  return Object.fromEntries(check.evidence.columns.map((c, i) => [c, found[i]]));
}

describe('claim 1: SQAKD beats the QAT method alone', () => {
  const ceW2 = [80, 82];
  const sqW2 = [84, 85];
  // Ahead by less than the spread of the difference.
  const ceW4 = [88, 90];
  const sqW4 = [88.5, 90.5];

  it('is supported when SQAKD is ahead in every complete pair, flagging a win within the spread and single seeds', () => {
    const cells = [
      ...students('ce', ceW2), ...students('sqakd', sqW2),
      ...students('ce', ceW4, { bits: 'W4A4' }), ...students('sqakd', sqW4, { bits: 'W4A4' }),
      ...students('ce', [50], { bits: 'W1A1' }), ...students('sqakd', [52.25], { bits: 'W1A1' }),
    ];
    const check = checkSqakdBeatsQat(cells);
    expect(check.verdict).toBe('supported');
    expect(check.missing).toEqual([]);
    const w2 = row(check, W2);
    expect(w2['sqakd - baseline']).toBe(r2(mean(sqW2) - mean(ceW2)));
    expect(w2['std error']).toBe(r2(stdError(sqW2, ceW2)));
    expect(w2['baseline (ce) top-1']).toBe(mean(ceW2));
    expect(w2.note).toBe('');
    expect(row(check, W4).note).toContain('within spread');
    expect(row(check, W1).note).toContain('1 seed');
    const smallest = mean(sqW4) - mean(ceW4);
    const largest = mean(sqW2) - mean(ceW2);
    expect(check.summary).toContain(`+${smallest.toFixed(2)} to +${largest.toFixed(2)} points`);
    expect(check.summary).toContain('1 of 3 within the seed spread');
    expect(check.summary).toContain('1 of 3 rest on a single seed');
  });

  it('is contradicted by one complete pair where SQAKD is behind, even with other cells unfinished', () => {
    const cells = [
      ...students('ce', [80]), ...students('sqakd', [79]),
      ...students('ce', ceW4, { bits: 'W4A4' }), ...students('sqakd', sqW4, { bits: 'W4A4' }),
      fixtureCell({ method: 'sqakd', bits: 'W4A4', seed: 3, state: 'running', id: 'w4-sqakd-s3' }),
    ];
    const check = checkSqakdBeatsQat(cells);
    expect(check.verdict).toBe('contradicted');
    expect(check.summary).toContain(`${W2} (${(79 - 80).toFixed(2)} points)`);
    expect(check.summary).not.toContain(W4);
    expect(check.missing).toEqual(['w4-sqakd-s3']);
    expect(row(check, W2).verdict).toBe('contradicted');
  });

  it('is not enough data with a running SQAKD cell or a pair lacking a side, naming both', () => {
    const cells = [
      ...students('ce', ceW2), ...students('sqakd', sqW2),
      ...students('ce', [88], { bits: 'W4A4' }),
      fixtureCell({ method: 'sqakd', bits: 'W4A4', state: 'running', id: 'w4-sqakd-running' }),
      ...students('ce', [50], { bits: 'W1A1' }),
    ];
    const check = checkSqakdBeatsQat(cells);
    expect(check.verdict).toBe('not enough data');
    expect(check.missing).toContain('w4-sqakd-running');
    expect(check.missing).toContain(`sqakd student of ${W1}`);
    expect(check.missing).toHaveLength(2);
    const gain = (mean(sqW2) - mean(ceW2)).toFixed(2);
    expect(check.summary).toContain(`every complete pair (1 of 3; 2 cells missing) by +${gain} points`);
    expect(row(check, W4)['sqakd top-1']).toBeNull();
  });

  it('is not enough data on an empty store', () => {
    const check = checkSqakdBeatsQat([]);
    expect(check.verdict).toBe('not enough data');
    expect(check.missing.length).toBe(1);
  });
});

/** The first epoch at which the mean of the curves reaches 0.95 x the lowest best mean, per method. */
function epochsToTarget(curves: Record<string, EpochPoint[]>): { target: number; epochs: Record<string, number> } {
  const target = 0.95 * Math.min(...Object.values(curves).map((c) => Math.max(...c.map((p) => p.top1))));
  const epochs = Object.fromEntries(Object.entries(curves).map(([m, c]) => [m, c.find((p) => p.top1 >= target)!.epoch]));
  return { target, epochs };
}

function curve(...top1s: number[]): EpochPoint[] {
  return top1s.map((top1, i) => ({ epoch: i + 1, top1 }));
}

function curveCells(curves: Record<string, EpochPoint[]>, fields: Partial<ReportCell> = {}): ReportCell[] {
  return Object.entries(curves).map(([method, c]) => fixtureCell({ method, curve: c, top1: c.at(-1)!.top1, ...fields }));
}

describe('claim 2: SQAKD converges faster than CE and CE + KL', () => {
  const fast = { sqakd: curve(50, 85, 90), ce: curve(30, 60, 88), kd: curve(40, 70, 89) };
  // No later than CE, earlier than KD: faster.
  const asCe = { sqakd: curve(50, 85, 90), ce: curve(40, 86, 88), kd: curve(40, 70, 89) };

  it('ties and mixed cases follow the rule: no more than either and fewer than one', () => {
    expect(convergenceVerdict(2, 3, 3)).toBe('supported');
    expect(convergenceVerdict(2, 2, 3)).toBe('supported');
    expect(convergenceVerdict(3, 2, 4)).toBe('contradicted');
    expect(convergenceVerdict(2, 2, 2)).toBe('not enough data');
  });

  it('is supported when SQAKD reaches the target first in every setting', () => {
    const check = checkFasterConvergence([...curveCells(fast), ...curveCells(asCe, { bits: 'W4A4' })]);
    expect(check.verdict).toBe('supported');
    expect(check.missing).toEqual([]);
    const expected = epochsToTarget(fast);
    expect(expected.epochs).toEqual({ sqakd: 2, ce: 3, kd: 3 });
    const w2 = row(check, W2);
    expect(w2['target top-1']).toBe(r2(expected.target));
    expect([w2['sqakd epochs'], w2['ce epochs'], w2['kd epochs']]).toEqual([2, 3, 3]);
    expect(check.summary).toContain(`sqakd 2, ce 3, kd 3 epochs to ${expected.target.toFixed(2)}`);
    const w4 = epochsToTarget(asCe);
    expect([row(check, W4)['sqakd epochs'], row(check, W4)['ce epochs'], row(check, W4)['kd epochs']])
      .toEqual([w4.epochs.sqakd, w4.epochs.ce, w4.epochs.kd]);
  });

  it('is contradicted where SQAKD needs more epochs than one of them', () => {
    const slow = { sqakd: curve(30, 60, 90), ce: curve(50, 85, 88), kd: curve(40, 70, 89) };
    const check = checkFasterConvergence([...curveCells(slow), ...curveCells(fast, { bits: 'W4A4' })]);
    expect(check.verdict).toBe('contradicted');
    const { target, epochs } = epochsToTarget(slow);
    const words = `sqakd ${epochs.sqakd}, ce ${epochs.ce}, kd ${epochs.kd} epochs to ${target.toFixed(2)}`;
    expect(check.summary).toContain(`${W2} (${words})`);
    expect(row(check, W2).verdict).toBe('contradicted');
  });

  it('is not enough data for a tie with both, a setting without KD, and a running SQAKD cell', () => {
    const tie = { sqakd: curve(50, 88), ce: curve(50, 88), kd: curve(50, 88) };
    const tied = checkFasterConvergence(curveCells(tie));
    expect(tied.verdict).toBe('not enough data');
    expect(tied.missing).toEqual([]);
    expect(tied.summary).toContain('A tie with both');

    const cells = [
      ...curveCells(fast),
      ...curveCells({ sqakd: fast.sqakd, ce: fast.ce }, { bits: 'W4A4' }),
      fixtureCell({ method: 'sqakd', seed: 2, state: 'running', curve: curve(20), id: 'w2-sqakd-running' }),
    ];
    const check = checkFasterConvergence(cells);
    expect(check.verdict).toBe('not enough data');
    expect(check.missing).toEqual(['w2-sqakd-running', `kd student of ${W4}`]);
    // The running cell's partial curve is left out of the comparison: the finished seeds alone decide it.
    expect(row(check, W2)['target top-1']).toBe(r2(epochsToTarget(fast).target));
    expect(row(check, W2)['seeds (sqakd/ce/kd)']).toBe('1/1/1');
    expect(row(check, W4).verdict).toBe('not enough data');
    expect(row(check, W4).note).toContain('no finished curve of kd');
  });
});

function sharp(loss: string, topEigenvalue: number): Partial<ReportCell> {
  return { landscape: { sharpness: { [loss]: { topEigenvalue } } } };
}

describe('claim 3: CE added to KL does not help, and KL alone is smoother', () => {
  it('is supported when SQAKD is at least as accurate as KD and has the smaller top eigenvalue', () => {
    const cells = [
      fixtureCell({ method: 'sqakd', top1: 85, ...sharp('kl', 10) }),
      fixtureCell({ method: 'kd', top1: 84, ...sharp('kl', 20) }),
      // Equal accuracy still "does not help".
      fixtureCell({ method: 'sqakd', top1: 70, bits: 'W4A4', ...sharp('kl', 3) }),
      fixtureCell({ method: 'kd', top1: 70, bits: 'W4A4', ...sharp('kl', 4) }),
    ];
    const check = checkCeHurtsKl(cells);
    expect(check.verdict).toBe('supported');
    expect(check.parts!.map((p) => p.verdict)).toEqual(['supported', 'supported']);
    expect(check.missing).toEqual([]);
    expect(row(check, W2)['sqakd - kd']).toBe(85 - 84);
    expect(row(check, W2)['sqakd kl top eigenvalue']).toBe(10);
    expect(row(check, W2)['kd kl top eigenvalue']).toBe(20);
    expect(check.parts![1].summary).toContain(`sqakd kl ${(10).toFixed(2)} vs kd kl ${(20).toFixed(2)}`);
  });

  it('compares seed with seed when both students have several landscapes', () => {
    const sq = [10, 12, 100];
    const kd = [11, 13];
    const cells = [
      ...sq.map((e, i) => fixtureCell({ method: 'sqakd', seed: i + 1, top1: 85, ...sharp('kl', e) })),
      ...kd.map((e, i) => fixtureCell({ method: 'kd', seed: i + 1, top1: 84, ...sharp('kl', e) })),
    ];
    const check = checkCeHurtsKl(cells);
    // Seed 3 has no KD landscape; over seeds 1 and 2 SQAKD is smoother, over its mean of all three it is not.
    expect(mean(sq)).toBeGreaterThan(mean(kd));
    expect(check.parts![1].verdict).toBe('supported');
    expect(row(check, W2)['sqakd kl top eigenvalue']).toBe(mean(sq.slice(0, 2)));
    expect(row(check, W2)['landscape seeds']).toBe('paired 1, 2');
  });

  it('is contradicted when CE + KL is more accurate, or when KL alone is sharper', () => {
    const worse = checkCeHurtsKl([
      fixtureCell({ method: 'sqakd', top1: 83, ...sharp('kl', 10) }),
      fixtureCell({ method: 'kd', top1: 84.5, ...sharp('kl', 20) }),
    ]);
    expect(worse.verdict).toBe('contradicted');
    expect(worse.parts!.map((p) => p.verdict)).toEqual(['contradicted', 'supported']);
    expect(worse.parts![0].summary).toContain(`${W2} (sqakd - kd ${(83 - 84.5).toFixed(2)})`);

    const sharper = checkCeHurtsKl([
      fixtureCell({ method: 'sqakd', top1: 85, ...sharp('kl', 30) }),
      fixtureCell({ method: 'kd', top1: 84, ...sharp('kl', 20) }),
    ]);
    expect(sharper.verdict).toBe('contradicted');
    expect(sharper.parts!.map((p) => p.verdict)).toEqual(['supported', 'contradicted']);
  });

  it('is not enough data without landscapes, naming the landscape and a running SQAKD cell', () => {
    const cells = [
      fixtureCell({ method: 'sqakd', top1: 85 }),
      fixtureCell({ method: 'kd', top1: 84 }),
      fixtureCell({ method: 'sqakd', seed: 2, state: 'running', id: 'w2-sqakd-running' }),
    ];
    const check = checkCeHurtsKl(cells);
    expect(check.verdict).toBe('not enough data');
    expect(check.parts!.map((p) => p.verdict)).toEqual(['not enough data', 'not enough data']);
    expect(check.missing).toEqual([
      'w2-sqakd-running', `a loss landscape (sqakd landscape) of the sqakd and kd students of ${W2}`,
    ]);
    expect(checkCeHurtsKl([fixtureCell({ method: 'sqakd', top1: 85 })]).missing)
      .toEqual(['a kd (CE + KL) student beside a sqakd student in any setting']);
  });

  it('names the one student without a landscape when the other has one', () => {
    const check = checkCeHurtsKl([
      fixtureCell({ method: 'sqakd', top1: 85, ...sharp('kl', 10) }),
      fixtureCell({ method: 'kd', top1: 84 }),
    ]);
    expect(check.parts![1].verdict).toBe('not enough data');
    expect(check.missing).toEqual([`a loss landscape (sqakd landscape) of the kd student of ${W2}`]);
  });
});

/** One setting of Table 7: SQAKD, CE, KD and each of the 11 with labels at the given top-1s (default 75). */
function table7(top1: Record<string, number>, skip: string[] = []): ReportCell[] {
  return [
    fixtureCell({ method: 'sqakd', top1: top1.sqakd ?? 86 }),
    fixtureCell({ method: 'ce', top1: top1.ce ?? 80 }),
    fixtureCell({ method: 'kd', top1: top1.kd ?? 82 }),
    ...ELEVEN.filter((m) => !skip.includes(m)).map((method) => fixtureCell({ method, top1: top1[method] ?? 75 })),
  ];
}

describe('claim 4: SQAKD beats the 11 KD methods; relational beat feature-matching methods', () => {
  const groups = { crd: 84, rkd: 83, cktf: 85, fitnet: 81, sp: 80 };

  it('is supported when SQAKD ranks first and the relational group mean is higher', () => {
    const cells = [...table7(groups), fixtureCell({ method: 'crd', labelFree: true, top1: 78 })];
    const check = checkBeatsKdMethods(cells);
    expect(check.verdict).toBe('supported');
    expect(check.missing).toEqual([]);
    const relational = mean([groups.crd, groups.rkd, groups.cktf]);
    const matching = mean([groups.fitnet, groups.sp]);
    const r = row(check, W2);
    expect(r['sqakd rank']).toBe(1);
    expect(r['methods ranked']).toBe(1 + 2 + 11 + 1);
    expect(r['best other method']).toBe('cktf');
    expect(r['sqakd - best other']).toBe(86 - groups.cktf);
    expect(r['relational (crd, rkd, cktf)']).toBe(relational);
    expect(r['feature-matching (fitnet, sp)']).toBe(matching);
    expect(r['relational - feature-matching']).toBe(r2(relational - matching));
    expect(r['relational label-free']).toBe(78);
    expect(r['feature-matching label-free']).toBeNull();
    expect(check.parts![1].summary).toContain(`${relational.toFixed(2)} (crd, rkd, cktf) vs ${matching.toFixed(2)} (fitnet, sp)`);
  });

  it('is contradicted when a method beats SQAKD, naming it and by how much', () => {
    const check = checkBeatsKdMethods(table7({ ...groups, cktf: 87.5, kd: 86.25 }));
    expect(check.verdict).toBe('contradicted');
    expect(check.parts![0].verdict).toBe('contradicted');
    expect(row(check, W2)['sqakd rank']).toBe(3);
    expect(check.parts![0].summary).toContain(`behind cktf by +${(87.5 - 86).toFixed(2)}, kd by +${(86.25 - 86).toFixed(2)}`);
  });

  it('is contradicted when feature-matching methods do better than relational ones', () => {
    const check = checkBeatsKdMethods(table7({ ...groups, fitnet: 85.5, sp: 85 }));
    expect(check.parts!.map((p) => p.verdict)).toEqual(['supported', 'contradicted']);
    expect(check.verdict).toBe('contradicted');
    expect(row(check, W2)['relational - feature-matching']).toBe(r2(mean([84, 83, 85]) - mean([85.5, 85])));
  });

  it('is not enough data with feature methods absent and a running SQAKD seed, naming them', () => {
    const cells = [
      ...table7(groups, ['vid', 'ft']),
      fixtureCell({ method: 'sqakd', seed: 2, state: 'running', id: 'w2-sqakd-running' }),
    ];
    const check = checkBeatsKdMethods(cells);
    expect(check.parts!.map((p) => p.verdict)).toEqual(['not enough data', 'supported']);
    expect(check.verdict).toBe('not enough data');
    expect(check.missing).toEqual([
      'w2-sqakd-running', `vid student (with labels) of ${W2}`, `ft student (with labels) of ${W2}`,
    ]);
    expect(checkBeatsKdMethods([]).verdict).toBe('not enough data');
  });
});

describe('claim 5: the largest gain over a QAT method is 15.86 points', () => {
  it('says nothing against the paper from settings outside its Tables 4-6', () => {
    const mnist = { dataset: 'mnist', arch: 'cnn-small' };
    const check = checkLargestGain([...students('ce', [98.9], mnist), ...students('sqakd', [99.1], mnist)]);
    expect(check.verdict).toBe('not enough data');
    expect(check.summary).toContain(`+${(99.1 - 98.9).toFixed(2)} points`);
    expect(check.summary).toContain("None of these is a setting of the paper's Tables 4-6");
  });

  it('is supported within the tolerance, naming the setting and its cells', () => {
    const cells = [
      ...students('ce', [60]), ...students('sqakd', [75.5]),
      ...students('ce', [88], { bits: 'W4A4' }), ...students('sqakd', [89], { bits: 'W4A4' }),
    ];
    const check = checkLargestGain(cells);
    const gain = 75.5 - 60;
    expect(Math.abs(gain - PAPER_LARGEST_GAIN)).toBeLessThanOrEqual(LARGEST_GAIN_TOLERANCE);
    expect(check.verdict).toBe('supported');
    expect(check.summary).toContain(`+${gain.toFixed(2)} points, in ${W2}`);
    expect(check.summary).toContain('cifar10-resnet20-ewgs-STE-W2A2-sqakd-s1');
    expect(check.summary).toContain('cifar10-resnet20-ewgs-STE-W2A2-ce-s1');
    expect(check.summary).toContain('over 2 complete of 2 pairs');
    expect(check.evidence.rows[0][0]).toBe(W2);
    expect(row(check, W2)['gain - paper']).toBe(r2(gain - PAPER_LARGEST_GAIN));
  });

  it('is supported, and says so, when the gain is larger than the paper\'s', () => {
    const check = checkLargestGain([...students('ce', [50, 52]), ...students('sqakd', [70, 70])]);
    expect(check.verdict).toBe('supported');
    expect(check.summary).toContain(`${(70 - 51 - PAPER_LARGEST_GAIN).toFixed(2)} points larger than the paper's`);
  });

  it('is contradicted by a smaller largest gain in a store with nothing missing', () => {
    const check = checkLargestGain([...students('ce', [80]), ...students('sqakd', [85])]);
    expect(check.verdict).toBe('contradicted');
    expect(check.summary).toContain(`${(PAPER_LARGEST_GAIN - 5).toFixed(2)} points below the paper's`);
  });

  it('is not enough data for a smaller gain while a cell is unfinished, or without a complete pair', () => {
    const cells = [
      ...students('ce', [80]), ...students('sqakd', [85]),
      ...students('ce', [40], { bits: 'W1A1' }),
      fixtureCell({ method: 'sqakd', bits: 'W1A1', state: 'running', id: 'w1-sqakd-running' }),
    ];
    const check = checkLargestGain(cells);
    expect(check.verdict).toBe('not enough data');
    expect(check.missing).toEqual(['w1-sqakd-running']);
    expect(check.summary).toContain('over 1 complete of 2 pairs');
    const none = checkLargestGain(students('ce', [80]));
    expect(none.verdict).toBe('not enough data');
    expect(none.missing).toEqual([`sqakd student of ${W2}`]);
  });
});

describe('checkClaims', () => {
  it('returns the five claims in order', () => {
    const checks = checkClaims([...students('ce', [80]), ...students('sqakd', [85])]);
    expect(checks.map((c) => c.claim)).toEqual([1, 2, 3, 4, 5]);
    expect(checks[0].verdict).toBe('supported');
    expect(checkClaims([]).every((c) => c.verdict === 'not enough data' && c.missing.length > 0)).toBe(true);
  });
});
