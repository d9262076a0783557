// A student distilling from a teacher that barely beats chance learns little from it, and its row in a table would
// be read as the method's fault. The trainer checks the teacher's top-1 against a threshold (by default twice
// chance) before training: below it, a warning in the run's log and result, or, where asked, a refusal.

import { RunRefusedError } from './runRefused.ts';

/** The trainer's teacher check (RunPlace.teacherCheck). */
export interface TeacherCheck {
  /** Lowest acceptable teacher top-1, in percent; default 2 x chance = 200 / classes. */
  minTop1?: number;
  /** What a teacher below it gets: a warning (the default) or an error before training. */
  action?: 'warn' | 'error';
}

/** A teacher below the threshold with action 'error'. */
export class WeakTeacherError extends RunRefusedError {}

/** The threshold in percent: the check's own, or twice chance for `classes` classes. */
export function teacherThreshold(classes: number, check: TeacherCheck = {}): number {
  return check.minTop1 ?? 200 / classes;
}

/**
 * The warning for a teacher below the threshold, or null (also when its top-1 is unknown). With action 'error'
 * the same finding is thrown as a WeakTeacherError instead.
 */
export function checkTeacher(teacherTop1: number | null, classes: number, check: TeacherCheck = {}): string | null {
  const threshold = teacherThreshold(classes, check);
  if (teacherTop1 === null || teacherTop1 >= threshold) return null;
  const which = check.minTop1 === undefined ? `2x chance for ${classes} classes` : 'the minimum asked for';
  const finding = `the teacher's top-1 ${teacherTop1.toFixed(2)}% is below ${threshold.toFixed(2)}% (${which})`;
  if (check.action === 'error') {
    throw new WeakTeacherError(`${finding}: refusing to train from it; train the teacher longer, or lower the ` +
      'threshold (--teacher-min-top1, or teacherCheck.minTop1), or let it pass with a warning (--weak-teacher warn)');
  }
  return `weak teacher: ${finding}; the student learns little from it (--weak-teacher error refuses such runs)`;
}
