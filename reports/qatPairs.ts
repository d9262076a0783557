// The pairs of Tables 4-6 (SPEC section 4): in each quantized setting, the QAT method alone (the `ce` student: the
// quantizer trained on labels) against the same quantizer with SQAKD, with the setting's full-precision teacher, each
// over its seeds. The paper-style tables and claims 1 and 5 read these.
import { finishedTop1, type MeanDifference, meanDifference, type SeedStats, seedStats } from './seedStats.ts';
import { methodKey, type ReportCell, settingKey, settingLabel } from './reportCell.ts';

export interface QatPair {
  setting: string;
  label: string;
  dataset: string;
  arch: string;
  quantizer: string;
  variant: string;
  bits: string;
  wBits: number;
  /** Top-1 of the setting's teacher, over the seeds of its finished students (or of its teacher cells). */
  teacher: SeedStats | null;
  baseline: SeedStats | null;
  sqakd: SeedStats | null;
  /** SQAKD minus the baseline, between means. */
  diff: MeanDifference | null;
  /** Every cell of each side in the store, whatever its state (the claims name the unfinished ones). */
  baselineCells: ReportCell[];
  sqakdCells: ReportCell[];
}


/**
 * The teacher's top-1 for students of one dataset and architecture: its teacher cells' (students of several seeds
 * may share one teacher), else the distinct teacher top-1s the students' results recorded (teachers given by path).
 */
export function teacherStats(students: ReportCell[], teachers: ReportCell[]): SeedStats | null {
  const first = students[0];
  const own = finishedTop1(teachers.filter((t) => t.dataset === first?.dataset && t.arch === first?.arch));
  if (own) return own;
  return seedStats([...new Set(students.filter((c) => c.state === 'finished' && c.teacherTop1 !== null).map((c) => c.teacherTop1!))]);
}

/** Every setting holding a `ce` or `sqakd` student, in dataset, arch, quantizer, bits order. */
export function qatPairs(cells: ReportCell[]): QatPair[] {
  const teachers = cells.filter((c) => c.kind === 'teacher');
  const groups = new Map<string, ReportCell[]>();
  for (const c of cells) {
    if (c.kind !== 'student' || (methodKey(c) !== 'ce' && methodKey(c) !== 'sqakd')) continue;
    groups.set(settingKey(c), [...(groups.get(settingKey(c)) ?? []), c]);
  }
  const pairs = [...groups.entries()].map(([setting, group]): QatPair => {
    const baselineCells = group.filter((c) => methodKey(c) === 'ce');
    const sqakdCells = group.filter((c) => methodKey(c) === 'sqakd');
    const baseline = finishedTop1(baselineCells);
    const sqakd = finishedTop1(sqakdCells);
    const first = group[0];
    return {
      setting, label: settingLabel(first), dataset: first.dataset, arch: first.arch, quantizer: first.quantizer,
      variant: first.variant, bits: first.bits, wBits: first.wBits ?? 32, teacher: teacherStats(group, teachers),
      baseline, sqakd, diff: meanDifference(sqakd, baseline), baselineCells, sqakdCells,
    };
  });
  return pairs.sort((a, b) => a.dataset.localeCompare(b.dataset) || a.arch.localeCompare(b.arch) ||
    a.quantizer.localeCompare(b.quantizer) || a.variant.localeCompare(b.variant) || a.wBits - b.wBits);
}
