// Claim 3 of SPEC section 6, in two parts: (a) adding CE to KL (the kd student) does not beat KL alone (the sqakd
// student) in top-1; (b) KL alone sits in a smoother minimum, read as a smaller top Hessian eigenvalue of the KL
// loss at each student's trained point (landscape.json). Both are measured on the same loss: the CE + KL loss's
// Hessian holds CE's on top of KL's, so comparing each student's own training loss would favour SQAKD by construction.
import { methodKey, type ReportCell, settingKey, settingLabel } from '../reportCell.ts';
import { finishedTop1, type MeanDifference, meanDifference, type SeedStats } from '../seedStats.ts';
import {
  type ClaimCheck, combineVerdicts, count, fixed, missingOf, rounded, signed, unique, type Verdict,
} from './claimVerdict.ts';

const STATEMENT = 'Adding CE to KL hurts or does not help; the loss landscape of KL-only is smoother.';

/** The loss whose sharpness is compared for each student: the same for both (see above). */
export const LANDSCAPE_LOSS = { sqakd: 'kl', kd: 'kl' } as const;

/** The top eigenvalues compared in one setting, and the seeds they come from. */
export interface SharpnessComparison {
  sqakd: number;
  kd: number;
  /** The seeds both sides were compared on; empty when each side's mean over all its seeds was used. */
  pairedSeeds: number[];
}

interface SettingCheck {
  label: string;
  sqakd: SeedStats | null;
  kd: SeedStats | null;
  diff: MeanDifference | null;
  accuracy: Verdict;
  accuracyMissing: string[];
  sharpness: SharpnessComparison | null;
  landscape: Verdict;
  landscapeMissing: string[];
}


/** Top eigenvalue per seed, from the finished cells whose landscape has the loss. */
function eigenvalues(cells: ReportCell[], loss: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of cells) {
    const s = c.state === 'finished' ? c.landscape?.sharpness[loss] : undefined;
    if (s) out.set(c.seed, s.topEigenvalue);
  }
  return out;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Seed against seed when both sides have several landscapes and share seeds (the same initialisation and data
 * order, so the comparison is not also one of seeds), else each side's mean over the seeds it has; null if a side
 * has none.
 */
export function compareSharpness(sqakd: Map<number, number>, kd: Map<number, number>): SharpnessComparison | null {
  if (!sqakd.size || !kd.size) return null;
  const shared = [...sqakd.keys()].filter((s) => kd.has(s)).sort((a, b) => a - b);
  if (sqakd.size > 1 && kd.size > 1 && shared.length) {
    return { sqakd: mean(shared.map((s) => sqakd.get(s)!)), kd: mean(shared.map((s) => kd.get(s)!)), pairedSeeds: shared };
  }
  return { sqakd: mean([...sqakd.values()]), kd: mean([...kd.values()]), pairedSeeds: [] };
}

function landscapeNeed(cells: ReportCell[], method: 'sqakd' | 'kd', label: string): string[] {
  if (eigenvalues(cells, LANDSCAPE_LOSS[method]).size) return [];
  const swept = cells.some((c) => c.state === 'finished' && c.landscape);
  return [`a loss landscape (sqakd landscape) of the ${method} student of ${label}` +
    (swept ? ` with its ${LANDSCAPE_LOSS[method]} sharpness` : '')];
}

function checkSetting(group: ReportCell[], anyLandscape: boolean): SettingCheck {
  const label = settingLabel(group[0]);
  const sqakdCells = group.filter((c) => methodKey(c) === 'sqakd');
  const kdCells = group.filter((c) => methodKey(c) === 'kd');
  const sqakd = finishedTop1(sqakdCells);
  const kd = finishedTop1(kdCells);
  const diff = meanDifference(sqakd, kd);
  // "Hurts or does not help": KL alone at least as good as CE + KL.
  const accuracy: Verdict = diff ? (diff.diff >= 0 ? 'supported' : 'contradicted') : 'not enough data';
  const accuracyMissing = [
    ...missingOf(sqakdCells, `sqakd student of ${label}`), ...missingOf(kdCells, `kd student of ${label}`),
  ];
  const sharpness = compareSharpness(eigenvalues(sqakdCells, LANDSCAPE_LOSS.sqakd), eigenvalues(kdCells, LANDSCAPE_LOSS.kd));
  const landscape: Verdict = sharpness ? (sharpness.sqakd < sharpness.kd ? 'supported' : 'contradicted') : 'not enough data';
  const landscapeMissing = !anyLandscape ? [`a loss landscape (sqakd landscape) of the sqakd and kd students of ${label}`] :
    [...landscapeNeed(sqakdCells, 'sqakd', label), ...landscapeNeed(kdCells, 'kd', label)];
  return { label, sqakd, kd, diff, accuracy, accuracyMissing, sharpness, landscape, landscapeMissing };
}

function accuracySummary(checks: SettingCheck[], verdict: Verdict): string {
  const judged = checks.filter((c) => c.diff);
  if (!judged.length) return 'No setting has finished sqakd and kd students.';
  const worse = judged.filter((c) => c.accuracy === 'contradicted');
  const list = (l: SettingCheck[]) => l.map((c) => `${c.label} (sqakd - kd ${signed(c.diff!.diff)})`).join(', ');
  if (worse.length) return `CE + KL beats KL alone in ${worse.length} of ${count(judged.length, 'setting')}: ${list(worse)}.`;
  const scope = verdict === 'supported' ? 'in every setting' : `in ${judged.length} of ${count(checks.length, 'setting')} so far`;
  return `KL alone is at least as accurate as CE + KL ${scope}: ${list(judged)}.`;
}

function landscapeSummary(checks: SettingCheck[], anyLandscape: boolean): string {
  if (!anyLandscape) return 'No cell has a loss landscape.';
  const judged = checks.filter((c) => c.sharpness);
  if (!judged.length) return 'No setting has landscapes of both its sqakd and kd students.';
  const words = (c: SettingCheck) => `${c.label}: sqakd ${LANDSCAPE_LOSS.sqakd} ${fixed(c.sharpness!.sqakd)} vs kd ${LANDSCAPE_LOSS.kd} ${fixed(c.sharpness!.kd)}`;
  const sharper = judged.filter((c) => c.landscape === 'contradicted');
  if (sharper.length) {
    return `KL alone is not smoother (top eigenvalue) in ${sharper.length} of ${count(judged.length, 'setting')}: ` +
      `${sharper.map(words).join('; ')}.`;
  }
  return `KL alone has the smaller top eigenvalue in ${judged.length} of ${count(checks.length, 'setting')}: ` +
    `${judged.map(words).join('; ')}.`;
}

/** Claim 3: sqakd (KL) against kd (CE + KL) in accuracy and in sharpness, in every setting holding a kd student. */
export function checkCeHurtsKl(cells: ReportCell[]): ClaimCheck {
  const groups = new Map<string, ReportCell[]>();
  for (const c of cells) {
    if (c.kind !== 'student' || (methodKey(c) !== 'sqakd' && methodKey(c) !== 'kd')) continue;
    groups.set(settingKey(c), [...(groups.get(settingKey(c)) ?? []), c]);
  }
  // The ablation is read where CE + KL was run; SQAKD alone in a setting says nothing about adding CE.
  const anyLandscape = cells.some((c) => c.landscape);
  const checks = [...groups.values()].filter((g) => g.some((c) => methodKey(c) === 'kd'))
    .map((g) => checkSetting(g, anyLandscape)).sort((a, b) => a.label.localeCompare(b.label));
  const none = checks.length ? [] : ['a kd (CE + KL) student beside a sqakd student in any setting'];
  const accuracyMissing = [...none, ...unique(checks.flatMap((c) => c.accuracyMissing))];
  const landscapeMissing = [...none, ...unique(checks.flatMap((c) => c.landscapeMissing))];
  const accuracy = combineVerdicts(checks.map((c) => c.accuracy), accuracyMissing.length);
  const landscape = combineVerdicts(checks.map((c) => c.landscape), landscapeMissing.length);
  const parts = [
    { name: 'accuracy', verdict: accuracy, summary: accuracySummary(checks, accuracy) },
    { name: 'landscape', verdict: landscape, summary: landscapeSummary(checks, anyLandscape) },
  ];
  return {
    claim: 3, statement: STATEMENT, verdict: combineVerdicts([accuracy, landscape], 0),
    summary: parts.map((p) => `${p.name[0].toUpperCase()}${p.name.slice(1)} (${p.verdict}): ${p.summary}`).join(' '),
    missing: unique([...accuracyMissing, ...landscapeMissing]),
    evidence: {
      columns: ['setting', 'sqakd top-1', 'kd top-1', 'sqakd - kd', 'std error', 'seeds (sqakd/kd)', 'accuracy verdict',
        `sqakd ${LANDSCAPE_LOSS.sqakd} top eigenvalue`, `kd ${LANDSCAPE_LOSS.kd} top eigenvalue`, 'landscape seeds', 'landscape verdict'],
      rows: checks.map((c) => [
        c.label, rounded(c.sqakd?.mean), rounded(c.kd?.mean), rounded(c.diff?.diff), rounded(c.diff?.stdError),
        `${c.sqakd?.n ?? 0}/${c.kd?.n ?? 0}`, c.accuracy, rounded(c.sharpness?.sqakd), rounded(c.sharpness?.kd),
        c.sharpness ? (c.sharpness.pairedSeeds.length ? `paired ${c.sharpness.pairedSeeds.join(', ')}` : 'means') : null,
        c.landscape,
      ]),
    },
    parts,
  };
}
