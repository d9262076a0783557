// What `sqakd matrix --dry-run` prints: each cell with its state in the run store, its schedule, its estimated work
// and wall time on this machine, and what it waits for; the teachers and the students each serves; the totals in
// hours; and the data folders a real run would still need.
import { formatDuration } from '../formatDuration.ts';
import type { LandscapeJob } from './landscapeJobs.ts';
import type { MatrixCell, MatrixPlan } from './plan.ts';
import type { CellStatus } from './runStore.ts';
import type { StepSpeed } from './stepSpeed.ts';

/** Giga multiply-accumulates, `?` when unknown. */
export function gmac(macs: number | null): string {
  return macs === null ? '?' : (macs / 1e9).toFixed(macs >= 1e11 ? 0 : 1);
}

/** Hours with two decimals (`0.04 h`), the unit a matrix's cost is planned in. */
export function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(2)} h`;
}

export interface DryRunFacts {
  plan: MatrixPlan;
  statusOf: (cell: MatrixCell) => CellStatus;
  /** Wall seconds a finished cell took. */
  wallSecondsOf: (id: string) => number | undefined;
  /** This machine's measured step speed for a cell's architecture and dataset. */
  speedOf: (cell: MatrixCell) => StepSpeed | undefined;
  /** What a real run would refuse that a dry run does not need (missing data folders). */
  warnings: readonly string[];
}

/** A cell's estimated wall seconds at the measured step speed, or undefined without one. */
export function estimatedSeconds(cell: MatrixCell, speed: StepSpeed | undefined): number | undefined {
  return speed && cell.macs !== null ? cell.macs * speed.secondsPerMac : undefined;
}

/** What a landscape job does: `landscape 21x21 (share 1 of 4), 1024 images`. */
function landscapeWork(job: LandscapeJob): string {
  const { grid, subset } = job.settings;
  const part = typeof job.part === 'object' ? ` (share ${job.part.index + 1} of ${job.part.of})`
    : job.part === 'finish' ? ' (sharpness and files, after the shares)' : '';
  return `landscape ${grid}x${grid}${part}, ${subset} images`;
}

/** The dry run's lines. */
export function dryRunLines(facts: DryRunFacts): string[] {
  const { plan } = facts;
  const lines: string[] = [];
  let total = 0;
  let left = 0;
  let unknown = 0;
  let finishedEstimate = 0;
  let finishedActual = 0;
  for (const cell of plan.cells) {
    const status = facts.statusOf(cell);
    const deps = cell.dependsOn.length ? ` after ${cell.dependsOn.join(', ')}` : '';
    const pre = cell.config.settings.preEpochs;
    const seconds = estimatedSeconds(cell, facts.speedOf(cell));
    const work = cell.landscape ? landscapeWork(cell.landscape) : `${cell.config.phase.epochs} epochs${pre ? ` + ${pre} pre-stage` : ''}`;
    lines.push(`${status.padEnd(11)} ${cell.id}  ${work}, ` +
      `${gmac(cell.macs)} GMAC, ${seconds === undefined ? 'time unknown' : `~${hours(seconds)}`}${deps}`);
    if (seconds === undefined) {
      unknown++;
      continue;
    }
    total += seconds;
    if (status !== 'finished') left += seconds;
    const actual = status === 'finished' ? facts.wallSecondsOf(cell.id) : undefined;
    if (actual !== undefined) {
      finishedEstimate += seconds;
      finishedActual += actual;
    }
  }
  const teachers = plan.cells.filter((c) => c.kind === 'teacher');
  const sweeps = plan.cells.filter((c) => c.kind === 'landscape');
  for (const teacher of teachers) {
    const students = plan.cells.filter((c) => c.dependsOn.includes(teacher.id)).length;
    lines.push(`teacher ${teacher.id} is shared by ${students} student(s)`);
  }
  const speeds = new Map<string, StepSpeed>();
  for (const cell of plan.cells) {
    const speed = facts.speedOf(cell);
    if (speed) speeds.set(`${cell.config.arch}/${cell.config.dataset}`, speed);
  }
  const measured = [...speeds].map(([pair, s]) => `${pair} ${Math.round(s.imagesPerSecond)} img/s`).join(', ');
  lines.push(`${plan.cells.length} cells (${teachers.length} teacher(s), ${plan.cells.length - teachers.length - sweeps.length} student(s)` +
    `${sweeps.length ? `, ${sweeps.length} landscape job(s)` : ''}) in ` +
    `${plan.root}; estimated ${hours(total)} in all, ${hours(left)} left, one cell at a time with every core` +
    `${unknown ? ` (${unknown} cell(s) without an estimate)` : ''}`);
  if (measured) lines.push(`measured on this machine (a W2A2 SQAKD step, batch 32): ${measured}`);
  if (finishedEstimate > 0) {
    lines.push(`the finished cells took ${formatDuration(finishedActual)} against ${formatDuration(finishedEstimate)} estimated ` +
      `(x${(finishedActual / finishedEstimate).toFixed(2)}); at that rate ${hours((left * finishedActual) / finishedEstimate)} are left`);
  }
  for (const warning of facts.warnings) lines.push(`warning: ${warning}`);
  return lines;
}
