// One cell of a run store as the reports see it: what it is (dataset, architecture, quantizer and its variant,
// bits, method, labels, seed), where it stands (finished, running, interrupted, failed, not run, or a result.json
// that cannot be read), its numbers when it has finished, and its test top-1 per epoch so far. Every table, chart
// and claim of the report is computed from a list of these (readStoreCells.ts builds it from runs/<matrix>/).
import type { RunResult } from '../runs/trainer.ts';

/** `interrupted`: not running, with a checkpoint to resume from; `corrupt`: its result.json or cell.json is unreadable. */
export type CellState = 'finished' | 'running' | 'interrupted' | 'failed' | 'not run' | 'corrupt';

/** The test top-1 after one training epoch (pre-stage epochs excluded). */
export interface EpochPoint {
  epoch: number;
  top1: number;
}

export interface ReportCell {
  /** The cell's folder name in the run store. */
  id: string;
  kind: 'teacher' | 'student';
  dataset: string;
  arch: string;
  /** `none` for a full-precision teacher. */
  quantizer: string;
  /** quantizerVariant.ts: `STE`, `Hessian delta`, `learned alpha`, ...; `-` for full precision. */
  variant: string;
  /** `W2A2`, or `FP32` for a teacher. */
  bits: string;
  wBits: number | null;
  aBits: number | null;
  /** The registry's method name (`ce`, `kd`, `sqakd`, `at`, ...); `teacher` for a teacher. */
  method: string;
  /** Trained without labels: SQAKD always, a feature method when run `:label-free`. */
  labelFree: boolean;
  /** The display name: `at (label-free)`, `sqakd`, `teacher`. */
  label: string;
  seed: number;
  /** Training epochs the cell's configuration asks for (pre-stage excluded). */
  epochsPlanned: number;
  state: CellState;
  /** Present when finished. */
  result?: RunResult;
  top1: number | null;
  top1Best: number | null;
  teacherTop1: number | null;
  imagesPerSecond: number | null;
  wallSeconds: number | null;
  backend: string | null;
  /** Test top-1 per finished epoch: the result's history, or log.jsonl while it runs. */
  curve: EpochPoint[];
  /** A failed cell's error and the tail of its worker log. */
  failure?: { error: string; log: string };
  /** Why a cell's files could not be read (state `corrupt`). */
  problem?: string;
  /** The cell's loss landscape summary (landscape.json), when one was swept. */
  landscape?: LandscapeSummary;
}

/** What the reports read of a cell's landscape.json: sharpness at the trained point, per loss (`ce`, `kl`, `ce+kl`). */
export interface LandscapeSummary {
  sharpness: Record<string, { topEigenvalue: number; trace?: number; traceStdError?: number; circleRise?: number }>;
  /** The grid's coordinates along d1 (a) and d2 (b), and each loss's values[b][a]. */
  grid?: { a: number[]; b: number[] };
  losses?: Record<string, number[][]>;
  /** The losses at the trained point. */
  centre?: Record<string, number>;
}

/** The quantized setting a student belongs to, across methods and seeds: dataset, arch, quantizer, variant, bits. */
export function settingKey(c: Pick<ReportCell, 'dataset' | 'arch' | 'quantizer' | 'variant' | 'bits'>): string {
  return [c.dataset, c.arch, c.quantizer, c.variant, c.bits].join('|');
}

/** A setting in words: `cifar10 resnet20 ewgs (STE) W2A2`. */
export function settingLabel(c: Pick<ReportCell, 'dataset' | 'arch' | 'quantizer' | 'variant' | 'bits'>): string {
  const variant = c.variant === 'default' || c.variant === '-' ? '' : ` (${c.variant})`;
  return `${c.dataset} ${c.arch} ${c.quantizer}${variant} ${c.bits}`;
}

/** The cell's method and labels as one key: `at`, `at:label-free`, `sqakd`. */
export function methodKey(c: Pick<ReportCell, 'method' | 'labelFree' | 'kind'>): string {
  // SQAKD and KD have one form each; only feature methods come in two.
  return c.labelFree && c.method !== 'sqakd' && c.method !== 'teacher' ? `${c.method}:label-free` : c.method;
}
