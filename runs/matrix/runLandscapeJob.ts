// One landscape job inside a matrix worker process (runCell.ts hands it over after taking the job's lock): sweeps its
// share of the student's grid, or all of it, or reads the shares back and finishes the sweep (landscapeJobs.ts),
// reporting its points in the job's progress.json like a training cell's steps, and records its result.json.
import { join } from 'node:path';

import { writeFileAtomic } from '../atomicWrite.ts';
import { chunkRanges } from '../landscape/gridChunks.ts';
import { runLandscape } from '../landscape/landscapeRun.ts';
import { PROGRESS_FILE, ProgressFileSink } from './cellProgress.ts';
import { type LandscapeJob, type LandscapeJobResult, sweepChunkDir, sweptCellDir } from './landscapeJobs.ts';

/** Runs the job in folder `jobDir`; `afterPoint` may stop the process (a lost lock, a runner gone): chunks are kept. */
export function runLandscapeJob(jobDir: string, job: LandscapeJob, dataDir: string, options: {
  pid: number;
  afterPoint: () => void;
  log: (line: string) => void;
}): LandscapeJobResult {
  const start = performance.now();
  const cellDir = sweptCellDir(jobDir);
  const share = typeof job.part === 'object' ? job.part : undefined;
  const points = job.settings.grid * job.settings.grid;
  // Progress counts this job's points: its share's, or all of them (a finishing job reads them back, then measures).
  const ours = share ? chunkRanges(points, job.chunkSize ?? job.settings.grid).filter((_, k) => k % share.of === share.index)
    .reduce((n, r) => n + r.to - r.from, 0) : points;
  options.log(share ? `sweeping share ${share.index + 1} of ${share.of} of the grid of ${job.cell}`
    : job.part === 'finish' ? `finishing the sweep of ${job.cell}: its shares' chunks, then sharpness` : `sweeping ${job.cell}`);
  // The points are the steps of one epoch of the progress file a training cell writes, so the display shows both alike.
  const progress = new ProgressFileSink(join(jobDir, PROGRESS_FILE), { pid: options.pid })
    .epoch({ label: 'landscape', stage: 'landscape', epoch: 0, epochs: 1, steps: ours, laterEpochs: 0 });
  const file = runLandscape({
    ...job.settings, checkpoint: join(cellDir, 'checkpoint.ckpt'), dataDir, out: cellDir, chunkDir: sweepChunkDir(jobDir),
    chunkSize: job.chunkSize, worker: share, log: options.log,
    onPoint: (done) => {
      const seconds = (performance.now() - start) / 1000;
      // A finishing job reads its points back: no speed to report.
      progress.update(done, { loss: NaN, imagesPerSecond: job.part === 'finish' ? NaN : (done * job.settings.subset) / seconds });
      if (done === ours) progress.finish('grid done');
      options.afterPoint();
    },
  });
  if (file) options.log(`wrote ${join(cellDir, 'landscape.json')} and landscape.csv`);
  const result: LandscapeJobResult = { landscape: job, wallSeconds: (performance.now() - start) / 1000, finishedAt: new Date().toISOString() };
  writeFileAtomic(join(jobDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
