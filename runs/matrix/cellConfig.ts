// Where a cell's configuration names its teacher. A teacher the matrix trains is named relative to the student's
// own folder (`../<teacher cell>/checkpoint.ckpt`), and workers train with their working directory in the cell's
// folder, so neither the configuration, nor the checkpoints and results that store it, depend on where the run
// store lives: a store that is moved, or mounted at another path on a worker machine, stays finished and resumable.
// Stores written before that named the checkpoint by its absolute path; they are still recognised as the same cell.
import { basename, dirname, resolve } from 'node:path';

import { canonicalJson } from '../canonicalJson.ts';
import type { TrainConfig } from '../trainConfig.ts';

const CHECKPOINT = 'checkpoint.ckpt';
const TEACHER_CELL = /^teacher-/;

/** How a student's configuration names the checkpoint of the teacher cell `teacherId`. */
export function teacherCellPath(teacherId: string): string {
  return `../${teacherId}/${CHECKPOINT}`;
}

/** The teacher cell a path points into (relative or absolute), or null for a checkpoint of the user's own. */
export function teacherCellOf(path: string): string | null {
  if (basename(path) !== CHECKPOINT) return null;
  const cell = basename(dirname(path));
  return TEACHER_CELL.test(cell) ? cell : null;
}

/** A configuration with its teacher named independently of the store's location. */
function locationFree(config: TrainConfig): TrainConfig {
  if (!config.teacher) return config;
  const cell = teacherCellOf(config.teacher);
  return { ...config, teacher: cell ? `cell:${cell}` : `file:${resolve(config.teacher)}` };
}

/** Whether two configurations are the same cell's, wherever its store lives. */
export function sameCellConfig(a: TrainConfig, b: TrainConfig): boolean {
  return canonicalJson(locationFree(a)) === canonicalJson(locationFree(b));
}

/**
 * The configuration to hand the trainer for a cell whose folder holds a checkpoint of `stored`: the cell's own,
 * except that a checkpoint written before teachers were named relative to the cell keeps its teacher's name, since
 * the trainer resumes only a checkpoint of exactly the configuration it is given.
 */
export function trainerConfig(cell: TrainConfig, stored: TrainConfig | undefined): TrainConfig {
  if (!stored || !sameCellConfig(stored, cell) || stored.teacher === cell.teacher) return cell;
  return { ...cell, teacher: stored.teacher };
}
