// How long an epoch and the whole run have left: the steps left (this epoch's, its stage's later epochs' and the
// later stages') at the speed measured in this epoch (the previous one's before its first step), plus, for each
// epoch still to end, the time the previous epoch spent after its last step (its evaluation).
import type { EpochInfo } from './progress.ts';

export class RunEta {
  private info: EpochInfo | undefined;
  private epochStart = 0;
  private step = 0;
  private finished = false;
  private lastStepAt = 0;
  private secondsPerStep: number | undefined;
  private evaluationSeconds = 0;

  /** `now` in milliseconds. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  startEpoch(info: EpochInfo): void {
    this.info = info;
    this.epochStart = this.now();
    this.lastStepAt = this.epochStart;
    this.step = 0;
    this.finished = false;
  }

  /** `step` steps of the current epoch are done. */
  stepDone(step: number): void {
    this.lastStepAt = this.now();
    this.step = step;
    if (step > 0) this.secondsPerStep = (this.lastStepAt - this.epochStart) / 1000 / step;
  }

  finishEpoch(): void {
    this.evaluationSeconds = (this.now() - this.lastStepAt) / 1000;
    this.step = this.info?.steps ?? 0;
    this.finished = true;
  }

  /** Seconds since the current epoch started. */
  epochElapsed(): number {
    return (this.now() - this.epochStart) / 1000;
  }

  /** Seconds the current epoch has left; undefined before anything was timed. */
  epochLeft(): number | undefined {
    if (!this.info || this.secondsPerStep === undefined) return undefined;
    return (this.info.steps - this.step) * this.secondsPerStep + (this.finished ? 0 : this.evaluationSeconds);
  }

  /** Seconds the run has left; undefined before anything was timed. */
  runLeft(): number | undefined {
    const epochLeft = this.epochLeft();
    if (!this.info || epochLeft === undefined) return undefined;
    const laterEpochs = this.info.epochs - this.info.epoch - 1 + this.info.laterEpochs;
    return epochLeft + laterEpochs * (this.info.steps * this.secondsPerStep! + this.evaluationSeconds);
  }
}
