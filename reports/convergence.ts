// Convergence of SQAKD against its baselines in one setting: each method's test top-1 per epoch (the mean over its
// seeds), and the first epoch at which that mean reaches a target accuracy. The target is a fraction of the lowest
// best accuracy among the methods compared, so that every method reaches it and "epochs to target" is defined for
// each; claim 2 of SPEC section 6 and the convergence charts both read these numbers.
import { type EpochPoint, methodKey, type ReportCell, settingKey, settingLabel } from './reportCell.ts';

/** The methods a convergence comparison puts side by side: SQAKD (KL only), the QAT baseline (CE), and CE + KL. */
export const CONVERGENCE_METHODS = ['sqakd', 'ce', 'kd'] as const;

/** The target is this fraction of the lowest best mean top-1 among the methods compared. */
export const CONVERGENCE_TARGET_FRACTION = 0.95;

export interface MethodCurve {
  method: string;
  /** Mean test top-1 over the seeds that reached each epoch. */
  points: EpochPoint[];
  seeds: number;
  /** First epoch whose mean top-1 is at least the target; null if none is. */
  epochsToTarget: number | null;
}

export interface SettingConvergence {
  setting: string;
  label: string;
  /** Top-1 (percent) each method must reach. */
  target: number;
  curves: MethodCurve[];
}

/** The mean of every epoch's top-1 across curves (an epoch counts the curves that reached it). */
export function meanCurve(curves: EpochPoint[][]): EpochPoint[] {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const curve of curves) {
    for (const p of curve) {
      const s = sums.get(p.epoch) ?? { sum: 0, n: 0 };
      s.sum += p.top1;
      s.n += 1;
      sums.set(p.epoch, s);
    }
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, s]) => ({ epoch, top1: s.sum / s.n }));
}

/** The first epoch at which the curve reaches `target`; null if it never does. */
export function epochsToReach(points: EpochPoint[], target: number): number | null {
  return points.find((p) => p.top1 >= target)?.epoch ?? null;
}

/**
 * Every quantized setting with curves of at least two of CONVERGENCE_METHODS, SQAKD among them; finished and
 * running cells both count (a running cell adds the epochs it has done).
 */
export function settingConvergence(cells: ReportCell[]): SettingConvergence[] {
  const bySetting = new Map<string, ReportCell[]>();
  for (const c of cells) {
    if (c.kind !== 'student' || !c.curve.length || !(CONVERGENCE_METHODS as readonly string[]).includes(methodKey(c))) continue;
    const key = settingKey(c);
    bySetting.set(key, [...(bySetting.get(key) ?? []), c]);
  }
  const out: SettingConvergence[] = [];
  for (const [setting, group] of bySetting) {
    const curves = CONVERGENCE_METHODS.flatMap((method) => {
      const runs = group.filter((c) => methodKey(c) === method);
      return runs.length ? [{ method, points: meanCurve(runs.map((c) => c.curve)), seeds: runs.length }] : [];
    });
    if (curves.length < 2 || curves[0].method !== 'sqakd') continue;
    const target = CONVERGENCE_TARGET_FRACTION * Math.min(...curves.map((c) => Math.max(...c.points.map((p) => p.top1))));
    out.push({
      setting, label: settingLabel(group[0]), target,
      curves: curves.map((c) => ({ ...c, epochsToTarget: epochsToReach(c.points, target) })),
    });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}
