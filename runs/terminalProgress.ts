// The trainer's progress on a stream. On a terminal, a cli-progress bar redrawn in place with the epoch's steps,
// loss, speed, elapsed time and the ETAs of the epoch and of the run, replaced by a summary line when the epoch
// ends; on anything else (a log file, CI) a plain line at each quarter of the epoch and the summary.
import cliProgress from 'cli-progress';

import { formatDuration } from './formatDuration.ts';
import type { EpochInfo, EpochProgress, ProgressSink, ProgressStats } from './progress.ts';
import { RunEta } from './runEta.ts';

const BAR_TEMPLATE = '{label} [{bar}] {value}/{total} {stats} | elapsed {duration_formatted} | ETA epoch {epochEta}, run {runEta}';

/**
 * cli-progress re-arms a timer at every redraw; the training loop is synchronous, so the timer only ever fires after
 * an epoch that ended in an exception, and must not then keep the process alive.
 */
class UnrefBar extends cliProgress.SingleBar {
  override render(): void {
    super.render();
    (this as unknown as { timer: NodeJS.Timeout | null }).timer?.unref();
  }
}

function describe(stats: ProgressStats): string {
  return `loss ${stats.loss.toFixed(4)} ${Math.round(stats.imagesPerSecond)} img/s`;
}

function eta(seconds: number | undefined): string {
  return seconds === undefined ? '?' : formatDuration(seconds);
}

/** Reports training epochs on `stream`: a bar on a terminal, plain lines otherwise. */
export class TerminalProgress implements ProgressSink {
  private readonly eta: RunEta;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, now?: () => number) {
    this.eta = new RunEta(now);
  }

  epoch(info: EpochInfo): EpochProgress {
    this.eta.startEpoch(info);
    return this.stream.isTTY ? this.bar(info) : this.plain(info);
  }

  /** `, run ETA 5m 10s` after an epoch that is not the run's last. */
  private runEtaNote(info: EpochInfo): string {
    const later = info.epochs - info.epoch - 1 + info.laterEpochs;
    return later > 0 ? `, run ETA ${eta(this.eta.runLeft())}` : '';
  }

  private bar(info: EpochInfo): EpochProgress {
    const bar = new UnrefBar({
      stream: this.stream, barsize: 24, fps: 10, clearOnComplete: true, linewrap: true,
      formatTime: (seconds) => formatDuration(seconds),
      // Cut to the terminal's width: a wrapped line could not be redrawn in place.
      format: (options, params, payload) =>
        cliProgress.Format.Formatter({ ...options, format: BAR_TEMPLATE }, params, payload).slice(0, Math.max(1, params.maxWidth - 1)),
    });
    bar.start(info.steps, 0, { label: info.label, stats: '', epochEta: '?', runEta: '?' });
    return {
      update: (step, stats) => {
        this.eta.stepDone(step);
        bar.update(step, { stats: describe(stats), epochEta: eta(this.eta.epochLeft()), runEta: eta(this.eta.runLeft()) });
      },
      finish: (summary) => {
        this.eta.finishEpoch();
        bar.stop();
        this.stream.write(`${info.label} ${summary}${this.runEtaNote(info)}\n`);
      },
    };
  }

  private plain(info: EpochInfo): EpochProgress {
    let quartersShown = 0;
    return {
      update: (step, stats) => {
        this.eta.stepDone(step);
        const quarter = Math.floor((4 * step) / info.steps);
        if (quarter <= quartersShown) return;
        quartersShown = quarter;
        this.stream.write(`${info.label} ${step}/${info.steps} ${describe(stats)}, elapsed ` +
          `${formatDuration(this.eta.epochElapsed())}, ETA epoch ${eta(this.eta.epochLeft())}, run ${eta(this.eta.runLeft())}\n`);
      },
      finish: (summary) => {
        this.eta.finishEpoch();
        this.stream.write(`${info.label} ${summary}${this.runEtaNote(info)}\n`);
      },
    };
  }
}
