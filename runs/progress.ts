// Where the trainer reports its progress: a sink that opens one EpochProgress per epoch and is told, with each
// epoch, how much of the run is left after it, so that a sink can estimate the whole run's time (runEta.ts). The
// terminal bar (terminalProgress.ts) and a matrix worker's progress file (matrix/cellProgress.ts) are sinks.
import { TerminalProgress } from './terminalProgress.ts';

export interface ProgressStats {
  /** Mean training loss of the epoch so far (NaN when there is none, as for a landscape's points). */
  loss: number;
  imagesPerSecond: number;
}

/** The epoch about to run, and the epochs after it. */
export interface EpochInfo {
  /** `epoch 3/30`, `pre-stage 1/2`. */
  label: string;
  /** A landscape job reports its grid points as the steps of one epoch. */
  stage: 'pre' | 'main' | 'landscape';
  /** 0-based index within its stage. */
  epoch: number;
  /** Epochs of its stage. */
  epochs: number;
  /** Steps per epoch (the same in every stage: one loader). */
  steps: number;
  /** Epochs of later stages still to run after this stage: the main stage's, during the pre-stage; else 0. */
  laterEpochs: number;
}

/** One epoch's reports. */
export interface EpochProgress {
  /** `step` of the epoch's steps are done. */
  update(step: number, stats: ProgressStats): void;
  /** The epoch (evaluation included) is over; `summary` says how it went. */
  finish(summary: string): void;
}

export interface ProgressSink {
  /** Opens the reports of the epoch about to run. */
  epoch(info: EpochInfo): EpochProgress;
}

/** The sink for RunPlace.progress: a stream gets the terminal bar (stderr when absent), null none. */
export function progressSinkFor(progress: NodeJS.WriteStream | ProgressSink | null | undefined): ProgressSink | null {
  if (progress === null) return null;
  if (progress === undefined) return new TerminalProgress(process.stderr);
  return 'write' in progress ? new TerminalProgress(progress) : progress;
}

/** A sink that reports to each of `sinks`. */
export function allSinks(...sinks: ProgressSink[]): ProgressSink {
  return {
    epoch(info) {
      const epochs = sinks.map((s) => s.epoch(info));
      return {
        update: (step, stats) => epochs.forEach((e) => e.update(step, stats)),
        finish: (summary) => epochs.forEach((e) => e.finish(summary)),
      };
    },
  };
}
