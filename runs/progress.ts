// A progress line for training epochs: redrawn in place on a terminal, a few plain lines otherwise (logs, CI).
export interface ProgressStats {
  loss: number;
  imagesPerSecond: number;
}

export class ProgressBar {
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastQuarter = 0;

  constructor(private readonly label: string, private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Reports `done` of `total` steps. */
  update(done: number, stats: ProgressStats): void {
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((width * done) / this.total);
      this.stream.write(`\r${this.label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${this.total} ` +
        `${this.describe(stats)}\x1b[K`);
    } else {
      const quarter = Math.floor((4 * done) / this.total);
      if (quarter > this.lastQuarter) {
        this.lastQuarter = quarter;
        this.stream.write(`${this.label} ${done}/${this.total} ${this.describe(stats)}\n`);
      }
    }
  }

  /** Ends the line with a summary. */
  finish(summary: string): void {
    this.stream.write(this.tty ? `\r${this.label} ${summary}\x1b[K\n` : `${this.label} ${summary}\n`);
  }

  private describe(stats: ProgressStats): string {
    return `loss ${stats.loss.toFixed(4)} ${Math.round(stats.imagesPerSecond)} img/s`;
  }
}
