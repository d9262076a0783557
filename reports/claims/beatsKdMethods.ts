// Claim 4 of SPEC section 6, in two parts: (a) SQAKD ranks first among every method of a Table-7 setting (the 11
// feature methods with labels and label-free, CE and KD); (b) the relational/structural methods (CRD, RKD, CKTF)
// beat the feature-matching ones (FitNet, SP) on quantized students, compared as the mean of each group's means.
import { METHODS } from '../../methods/registry.ts';
import { type KdComparison, kdComparisons, type KdMethodRow } from '../kdComparison.ts';
import type { ReportCell } from '../reportCell.ts';
import type { SeedStats } from '../seedStats.ts';
import {
  type ClaimCheck, combineVerdicts, count, fixed, rounded, signed, unfinishedIds, unique, type Verdict,
} from './claimVerdict.ts';

const STATEMENT = 'SQAKD beats the 11 KD methods of Table 7; among those, relational/structural methods (CRD, RKD, CKTF) ' +
  'do better on quantized students than feature-matching ones (FitNet, SP).';

/** The relational/structural group of the claim. */
export const RELATIONAL_METHODS = ['crd', 'rkd', 'cktf'];
/** The feature-matching group of the claim. */
export const FEATURE_MATCHING_METHODS = ['fitnet', 'sp'];

const FEATURE_METHODS = Object.values(METHODS).filter((m) => m.kind === 'feature').map((m) => m.name);

/** One method's mean top-1 in a setting, keyed as methodKey does (`at`, `at:label-free`). */
export interface RankedMethod {
  method: string;
  top1: number;
}

/** A group's mean of its finished methods' means, and which methods it is over; null when none has finished. */
export interface GroupMean {
  mean: number;
  methods: string[];
}

interface SettingCheck {
  comparison: KdComparison;
  /** 1 + the number of methods with a higher mean; null without a finished SQAKD. */
  rank: number | null;
  ranked: RankedMethod[];
  /** Methods at or above SQAKD's mean: a tie does not beat, but neither is it beaten. */
  beaters: RankedMethod[];
  rankVerdict: Verdict;
  rankMissing: string[];
  /** Each group's mean with labels, and label-free. */
  groups: Record<'relational' | 'matching' | 'relationalFree' | 'matchingFree', GroupMean | null>;
  groupVerdict: Verdict | null;
}

/** Every method of the setting with a finished result other than SQAKD, best first. */
export function rankedMethods(c: KdComparison): RankedMethod[] {
  const entries: [string, SeedStats | null][] = [
    ['ce', c.ce], ['kd', c.kd],
    ...c.rows.flatMap((r): [string, SeedStats | null][] => [[r.method, r.withLabels], [`${r.method}:label-free`, r.labelFree]]),
  ];
  return entries.flatMap(([method, s]) => (s ? [{ method, top1: s.mean }] : [])).sort((a, b) => b.top1 - a.top1);
}

/** The mean of the listed methods' means, with labels or label-free. */
export function groupMean(rows: KdMethodRow[], methods: string[], labelFree: boolean): GroupMean | null {
  const found = methods.flatMap((m) => rows.filter((r) => r.method === m && (labelFree ? r.labelFree : r.withLabels)));
  if (!found.length) return null;
  const means = found.map((r) => (labelFree ? r.labelFree! : r.withLabels!).mean);
  return { mean: means.reduce((a, b) => a + b, 0) / means.length, methods: found.map((r) => r.method) };
}

function checkSetting(c: KdComparison): SettingCheck {
  const ranked = rankedMethods(c);
  const sqakd = c.sqakd;
  const beaters = sqakd ? ranked.filter((m) => m.top1 >= sqakd.mean) : [];
  const rank = sqakd ? 1 + ranked.filter((m) => m.top1 > sqakd.mean).length : null;
  const rankVerdict: Verdict = !sqakd ? 'not enough data' : beaters.length ? 'contradicted' : 'supported';
  // The claim is about the 11 as the paper ran them (with CE); label-free runs and CE/KD count when present.
  const absent = FEATURE_METHODS.filter((m) => !c.cells.some((x) => x.method === m && !x.labelFree))
    .map((m) => `${m} student (with labels) of ${c.label}`);
  const noSqakd = c.cells.some((x) => x.method === 'sqakd') ? [] : [`sqakd student of ${c.label}`];
  const rankMissing = [...unfinishedIds(c.cells), ...noSqakd, ...absent];
  const groups = {
    relational: groupMean(c.rows, RELATIONAL_METHODS, false), matching: groupMean(c.rows, FEATURE_MATCHING_METHODS, false),
    relationalFree: groupMean(c.rows, RELATIONAL_METHODS, true), matchingFree: groupMean(c.rows, FEATURE_MATCHING_METHODS, true),
  };
  const groupVerdict: Verdict | null = groups.relational && groups.matching
    ? (groups.relational.mean > groups.matching.mean ? 'supported' : 'contradicted') : null;
  return { comparison: c, rank, ranked, beaters, rankVerdict, rankMissing, groups, groupVerdict };
}

function rankSummary(checks: SettingCheck[], verdict: Verdict): string {
  const judged = checks.filter((c) => c.rank !== null);
  if (!judged.length) return 'No Table-7 setting has a finished sqakd student to rank.';
  const beaten = judged.filter((c) => c.rankVerdict === 'contradicted');
  if (beaten.length) {
    const words = beaten.map((c) => `${c.comparison.label}: rank ${c.rank} of ${c.ranked.length + 1}, behind ` +
      c.beaters.map((m) => `${m.method} by ${signed(m.top1 - c.comparison.sqakd!.mean)}`).join(', '));
    return `SQAKD is not first in ${beaten.length} of ${count(judged.length, 'setting')}: ${words.join('; ')}.`;
  }
  const words = judged.map((c) => `${c.comparison.label}: first of ${c.ranked.length + 1}` +
    (c.ranked.length ? `, ${signed(c.comparison.sqakd!.mean - c.ranked[0].top1)} over ${c.ranked[0].method}` : ''));
  const scope = verdict === 'supported' ? 'every setting' :
    `${judged.length} of ${count(checks.length, 'setting')}, with cells missing`;
  return `SQAKD ranks first in ${scope}: ${words.join('; ')}.`;
}

function groupSummary(checks: SettingCheck[]): string {
  const judged = checks.filter((c) => c.groupVerdict !== null);
  if (!judged.length) return 'No setting has finished students of both groups (with labels).';
  const words = judged.map((c) => {
    const { relational, matching } = c.groups;
    return `${c.comparison.label}: ${fixed(relational!.mean)} (${relational!.methods.join(', ')}) vs ` +
      `${fixed(matching!.mean)} (${matching!.methods.join(', ')})`;
  });
  const worse = judged.filter((c) => c.groupVerdict === 'contradicted').length;
  const scope = worse ? `do not beat feature-matching ones in ${worse} of ${count(judged.length, 'setting')}` :
    `beat feature-matching ones in ${judged.length} of ${count(checks.length, 'setting')}`;
  return `Relational methods ${scope}: ${words.join('; ')}.`;
}

/** Claim 4: SQAKD's rank in each Table-7 setting, and relational against feature-matching methods. */
export function checkBeatsKdMethods(cells: ReportCell[]): ClaimCheck {
  const checks = kdComparisons(cells).map(checkSetting);
  const none = checks.length ? [] : ['feature-distillation students (Table 7) beside a sqakd student in any setting'];
  const rankMissing = [...none, ...unique(checks.flatMap((c) => c.rankMissing))];
  const rankVerdict = combineVerdicts(checks.map((c) => c.rankVerdict), rankMissing.length);
  // The groups are compared wherever both were measured: a missing member narrows a group's mean (the summary
  // lists the members each mean is over) but does not withhold the verdict.
  const groupVerdict = combineVerdicts(checks.flatMap((c) => (c.groupVerdict ? [c.groupVerdict] : [])), 0);
  const parts = [
    { name: 'rank', verdict: rankVerdict, summary: rankSummary(checks, rankVerdict) },
    { name: 'relational vs feature-matching', verdict: groupVerdict, summary: groupSummary(checks) },
  ];
  const g = (m: GroupMean | null) => rounded(m?.mean);
  const gap = (a: GroupMean | null, b: GroupMean | null) => (a && b ? rounded(a.mean - b.mean) : null);
  return {
    claim: 4, statement: STATEMENT, verdict: combineVerdicts([rankVerdict, groupVerdict], 0),
    summary: parts.map((p) => `${p.name[0].toUpperCase()}${p.name.slice(1)} (${p.verdict}): ${p.summary}`).join(' '),
    missing: rankMissing,
    evidence: {
      columns: ['setting', 'sqakd top-1', 'sqakd rank', 'methods ranked', 'best other method', 'best other top-1',
        'sqakd - best other', 'relational (crd, rkd, cktf)', 'feature-matching (fitnet, sp)', 'relational - feature-matching',
        'relational label-free', 'feature-matching label-free'],
      rows: checks.map((c) => {
        const best = c.ranked[0];
        const sqakd = c.comparison.sqakd;
        return [
          c.comparison.label, rounded(sqakd?.mean), c.rank, c.ranked.length + (sqakd ? 1 : 0), best?.method ?? null,
          rounded(best?.top1), sqakd && best ? rounded(sqakd.mean - best.top1) : null, g(c.groups.relational),
          g(c.groups.matching), gap(c.groups.relational, c.groups.matching), g(c.groups.relationalFree), g(c.groups.matchingFree),
        ];
      }),
    },
    parts,
  };
}
