// The report of a running matrix, regenerated after every finished cell: requests that arrive while a report is
// being written are folded into one more run after it, so a burst of finished cells costs two reports, not one each,
// and a report that fails (a full disk, say) is logged without stopping the matrix. The chart libraries load on the
// first report, not with every command of the CLI (a matrix's worker processes never need them).
import type { ReportOptions } from './writeReport.ts';

export class LiveReport {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly options: ReportOptions, private readonly log: (line: string) => void) {}

  /** Regenerates the report soon; returns at once. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Waits for the report in progress (and the one folded after it). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        const { writeReport } = await import('./writeReport.ts');
        await writeReport(this.options);
      } catch (e) {
        this.log(`report of ${this.options.name} not updated: ${(e as Error).message.split('\n')[0]}`);
      }
    } while (this.again);
  }
}
