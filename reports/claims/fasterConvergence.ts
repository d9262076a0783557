// Claim 2 of SPEC section 6: SQAKD reaches a given accuracy in fewer epochs than the QAT baseline (CE) and than
// CE + KL (KD). Epochs to target come from convergence.ts over finished cells only: a running cell's partial curve
// would lower the shared target and shift every method's epoch count, so it is named as missing instead.
import { CONVERGENCE_METHODS, type SettingConvergence, settingConvergence } from '../convergence.ts';
import { methodKey, type ReportCell, settingKey, settingLabel } from '../reportCell.ts';
import { type ClaimCheck, combineVerdicts, count, fixed, rounded, unfinishedIds, unique, type Verdict } from './claimVerdict.ts';

const STATEMENT = 'SQAKD converges faster (fewer epochs to a given accuracy) than the baseline and than CE+KL.';

/** One setting's comparison: each method's epochs to the target (absent without a finished curve, null if never). */
export interface ConvergenceCheck {
  setting: string;
  label: string;
  target: number | null;
  epochs: Record<string, number | null>;
  seeds: Record<string, number>;
  verdict: Verdict;
  /** All three reach the target at the same epoch (or none does). */
  tie: boolean;
  /** Why the verdict is what it is, in words. */
  reason: string;
  missing: string[];
}

/**
 * Faster: no more epochs than either and fewer than at least one. Slower than either contradicts the claim, which
 * is about both. A tie with both at one-epoch resolution says neither, so it counts as not enough data.
 */
export function convergenceVerdict(sqakd: number, ce: number, kd: number): Verdict {
  if (sqakd <= Math.min(ce, kd) && sqakd < Math.max(ce, kd)) return 'supported';
  if (sqakd > Math.min(ce, kd)) return 'contradicted';
  return 'not enough data';
}

function settingMissing(group: ReportCell[], label: string): string[] {
  return CONVERGENCE_METHODS.flatMap((method) => {
    const mine = group.filter((c) => methodKey(c) === method);
    if (!mine.length) return [`${method} student of ${label}`];
    const noCurve = mine.filter((c) => c.state === 'finished' && !c.curve.length).map((c) => `${c.id} (no per-epoch curve)`);
    return [...unfinishedIds(mine), ...noCurve];
  });
}

function checkSetting(setting: string, group: ReportCell[], conv: SettingConvergence | undefined): ConvergenceCheck {
  const label = settingLabel(group[0]);
  const epochs: Record<string, number | null> = {};
  const seeds: Record<string, number> = {};
  for (const curve of conv?.curves ?? []) epochs[curve.method] = curve.epochsToTarget;
  for (const m of CONVERGENCE_METHODS) {
    seeds[m] = group.filter((c) => methodKey(c) === m && c.state === 'finished' && c.curve.length > 0).length;
  }
  const missing = settingMissing(group, label);
  const base = { setting, label, target: conv?.target ?? null, epochs, seeds, missing, tie: false };
  const lacking = CONVERGENCE_METHODS.filter((m) => !seeds[m]).join(', ');
  if (lacking || !conv) {
    // The target is a fraction of the lowest best accuracy among the methods compared, so a method still to come
    // can move it: a comparison against one of CE and KD is not yet one against both.
    return { ...base, verdict: 'not enough data', reason: `no finished curve of ${lacking}` };
  }
  // A method that never reaches the target is slower than any that does.
  const [s, c, k] = CONVERGENCE_METHODS.map((m) => epochs[m] ?? Infinity);
  const verdict = convergenceVerdict(s, c, k);
  const words = CONVERGENCE_METHODS.map((m) => `${m} ${epochs[m] ?? 'never'}`).join(', ');
  const reason = `${words} epochs to ${fixed(conv.target)}`;
  return { ...base, verdict, reason, tie: verdict === 'not enough data' };
}

/** Every setting holding a sqakd, ce or kd student, checked; settings in label order. */
export function convergenceChecks(cells: ReportCell[]): ConvergenceCheck[] {
  const finished = settingConvergence(cells.filter((c) => c.state === 'finished'));
  const bySetting = new Map(finished.map((s) => [s.setting, s]));
  const groups = new Map<string, ReportCell[]>();
  for (const c of cells) {
    if (c.kind !== 'student' || !(CONVERGENCE_METHODS as readonly string[]).includes(methodKey(c))) continue;
    groups.set(settingKey(c), [...(groups.get(settingKey(c)) ?? []), c]);
  }
  return [...groups.entries()].map(([setting, group]) => checkSetting(setting, group, bySetting.get(setting)))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** Claim 2: SQAKD's epochs to the target against CE's and KD's, in every setting with any of the three. */
export function checkFasterConvergence(cells: ReportCell[]): ClaimCheck {
  const checks = convergenceChecks(cells);
  const missing = checks.length ? unique(checks.flatMap((c) => c.missing)) :
    ['sqakd, ce and kd students of any quantized setting'];
  const verdict = combineVerdicts(checks.map((c) => c.verdict), missing.length);
  const judged = checks.filter((c) => c.verdict !== 'not enough data');
  const slower = checks.filter((c) => c.verdict === 'contradicted');
  const ties = checks.filter((c) => c.tie);
  const partial = checks.length - judged.length - ties.length;
  const detail = (list: ConvergenceCheck[]) => list.map((c) => `${c.label} (${c.reason})`).join('; ');
  const sentences: string[] = [];
  if (slower.length) {
    sentences.push(`SQAKD needs more epochs than CE or KD in ${slower.length} of ${count(checks.length, 'setting')}: ` +
      `${detail(slower)}.`);
  } else if (judged.length) {
    sentences.push(`SQAKD reaches the target first in ${judged.length} of ${count(checks.length, 'setting')}: ` +
      `${detail(judged)}.`);
  } else if (!ties.length) {
    sentences.push(`No setting has finished curves of sqakd, ce and kd to compare (${count(checks.length, 'setting')}).`);
  }
  if (ties.length) sentences.push(`A tie with both, at one-epoch resolution, in ${detail(ties)}.`);
  if (partial) sentences.push(`${count(partial, 'setting')} without finished curves of all three methods.`);
  const summary = sentences.join(' ');
  return {
    claim: 2, statement: STATEMENT, verdict, summary, missing,
    evidence: {
      columns: ['setting', 'target top-1', 'sqakd epochs', 'ce epochs', 'kd epochs', 'seeds (sqakd/ce/kd)', 'verdict', 'note'],
      rows: checks.map((c) => [
        c.label, rounded(c.target), c.epochs.sqakd ?? null, c.epochs.ce ?? null, c.epochs.kd ?? null,
        CONVERGENCE_METHODS.map((m) => c.seeds[m] ?? 0).join('/'), c.verdict,
        [c.reason, ...(c.missing.length ? [`missing: ${c.missing.join(', ')}`] : [])].join('; '),
      ]),
    },
  };
}
