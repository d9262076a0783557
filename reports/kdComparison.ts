// Table 7 (SPEC sections 3 and 4): in one quantized setting, every feature-distillation method with CE (as the
// public code runs it) and without labels (the column no earlier work has), beside the CE baseline, KD (CE + KL) and
// SQAKD, each over its seeds. The Table-7 table, its chart and claim 4 read these.
import { METHODS } from '../methods/registry.ts';
import { finishedTop1, type MeanDifference, meanDifference, type SeedStats } from './seedStats.ts';
import { type ReportCell, settingKey, settingLabel } from './reportCell.ts';
import { teacherStats } from './qatPairs.ts';

export interface KdMethodRow {
  method: string;
  withLabels: SeedStats | null;
  labelFree: SeedStats | null;
  /** SQAKD minus the method, with labels and without. */
  sqakdMinusWithLabels: MeanDifference | null;
  sqakdMinusLabelFree: MeanDifference | null;
  cells: ReportCell[];
}

export interface KdComparison {
  setting: string;
  label: string;
  teacher: SeedStats | null;
  ce: SeedStats | null;
  kd: SeedStats | null;
  sqakd: SeedStats | null;
  rows: KdMethodRow[];
  /** Every student cell of the setting, whatever its state. */
  cells: ReportCell[];
}

const FEATURE_METHODS = Object.values(METHODS).filter((m) => m.kind === 'feature').map((m) => m.name);


/** Every setting holding at least one feature-distillation student, feature methods in the registry's order. */
export function kdComparisons(cells: ReportCell[]): KdComparison[] {
  const teachers = cells.filter((c) => c.kind === 'teacher');
  const groups = new Map<string, ReportCell[]>();
  for (const c of cells) if (c.kind === 'student') groups.set(settingKey(c), [...(groups.get(settingKey(c)) ?? []), c]);
  const out: KdComparison[] = [];
  for (const [setting, group] of groups) {
    if (!group.some((c) => FEATURE_METHODS.includes(c.method))) continue;
    const sqakd = finishedTop1(group.filter((c) => c.method === 'sqakd'));
    const rows = FEATURE_METHODS.flatMap((method): KdMethodRow[] => {
      const mine = group.filter((c) => c.method === method);
      if (!mine.length) return [];
      const withLabels = finishedTop1(mine.filter((c) => !c.labelFree));
      const labelFree = finishedTop1(mine.filter((c) => c.labelFree));
      return [{
        method, withLabels, labelFree, sqakdMinusWithLabels: meanDifference(sqakd, withLabels),
        sqakdMinusLabelFree: meanDifference(sqakd, labelFree), cells: mine,
      }];
    });
    out.push({
      setting, label: settingLabel(group[0]), teacher: teacherStats(group, teachers),
      ce: finishedTop1(group.filter((c) => c.method === 'ce')), kd: finishedTop1(group.filter((c) => c.method === 'kd')), sqakd, rows,
      cells: group,
    });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}
