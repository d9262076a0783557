// Scale-out on Redis with BullMQ: the runner puts each ready cell on a queue; any number of `sqakd worker`
// processes, on any machines, pull cells and run each in a worker process of their own, exactly as the local pool
// does. Workers and runner must see the same run store (a shared file system, mounted at any path), because a
// student reads its teacher's checkpoint and every cell writes its files in its folder. BullMQ's stalled-job check
// hands the cell of a worker that died to another worker, which takes over the dead worker's cell lock and resumes
// the cell from its checkpoint.
//
// A cell's job id is the same on every run of the matrix, so a runner that restarts finds the jobs it queued before
// (waiting, or running on a worker) and waits for those instead of queueing the cells a second time. A cell another
// live worker holds is not failed: its job is put back on the queue for later.
import { createHash } from 'node:crypto';
import { isAbsolute, join, relative } from 'node:path';

import { DelayedError, type Job, Queue, QueueEvents, Worker } from 'bullmq';

import type { CellExecutor, CellOutcome } from './cellExecutor.ts';
import { liveLock } from './cellLock.ts';
import { type CellProcessOptions, runCellProcess } from './cellProcess.ts';
import type { MatrixCell } from './plan.ts';
import { LOCK_FILE, type RunStore } from './runStore.ts';

export const DEFAULT_QUEUE = 'sqakd-cells';

/** How long a job whose cell another worker holds waits before it is tried again. */
const BUSY_DELAY_MS = 15_000;

/** Every state of a job that is still to run or running (BullMQ's names). */
const UNFINISHED = ['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

interface CellJob {
  /** The cell's folder (absolute) in the shared run store. */
  dir: string;
  logPath: string;
}

/** ioredis connection options from a `redis://[:password@]host:port[/db]` URL. */
export function redisConnection(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis must be a URL like redis://127.0.0.1:6379, got '${url}'`);
  }
  if (parsed.protocol !== 'redis:') throw new Error(`--redis must be a redis:// URL, got '${url}'`);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 6379),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(db ? { db: Number(db) } : {}),
    // BullMQ's workers block on Redis; a finite retry count would make them fail instead of waiting.
    maxRetriesPerRequest: null,
  };
}

/** Whether `dir` lies in the store at `root` (a cell's folder, or a landscape job's inside one). */
function isInside(dir: string, root: string): boolean {
  const path = relative(root, dir);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}

/** The job id of cell `cellId` of the store at `root`: one per cell and store, the same on every run. */
export function cellJobId(root: string, cellId: string): string {
  // The store's hash keeps two matrices that share a queue (and possibly cell ids) apart.
  return `${createHash('sha256').update(root).digest('hex').slice(0, 8)}-${cellId}`;
}

/** The runner's side: cells go on the queue and the runner waits for their outcome. */
export class RedisQueueExecutor implements CellExecutor {
  readonly capacity = Number.POSITIVE_INFINITY;
  readonly description: string;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private ready: Promise<unknown> | null = null;

  constructor(private readonly store: RunStore, url: string, queueName = DEFAULT_QUEUE) {
    const connection = redisConnection(url);
    this.queue = new Queue(queueName, { connection });
    this.events = new QueueEvents(queueName, { connection });
    this.description = `Redis queue '${queueName}' at ${url} (start workers with: sqakd worker --redis ${url})`;
  }

  /** Drops this store's queued jobs that the plan no longer has (a changed spec, ids of an earlier version). */
  async begin(cells: readonly MatrixCell[]): Promise<void> {
    const wanted = new Set(cells.map((c) => cellJobId(this.store.root, c.id)));
    const jobs = (await this.queue.getJobs([...UNFINISHED])) as (Job<CellJob> | undefined)[];
    for (const job of jobs) {
      if (!job?.id || wanted.has(job.id) || !job.data?.dir || !isInside(job.data.dir, this.store.root)) continue;
      await job.remove().catch(() => undefined); // taken by a worker meanwhile: it runs once, harmlessly
    }
  }

  async run(cell: MatrixCell): Promise<CellOutcome> {
    // Listening must start before the first job is added, or a fast worker's completion is missed.
    this.ready ??= this.events.waitUntilReady();
    await this.ready;
    const jobId = cellJobId(this.store.root, cell.id);
    let job: Job<CellJob> | undefined = await this.queue.getJob(jobId);
    if (job) {
      // A finished job of an earlier run would keep the cell from being queued again (ids are unique), and whether
      // the cell is done is the run store's to say; a waiting or running one is this cell's, and is waited for.
      const state = await job.getState();
      if (state === 'completed' || state === 'failed' || state === 'unknown') {
        await job.remove();
        job = undefined;
      }
    }
    const data: CellJob = { dir: this.store.cellDir(cell.id), logPath: this.store.workerLogPath(cell.id) };
    job ??= await this.queue.add(cell.id, data, { jobId, attempts: 1, removeOnComplete: 1000, removeOnFail: 1000 });
    try {
      await job.waitUntilFinished(this.events);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

export interface QueueWorkerOptions {
  url: string;
  queueName?: string;
  /** Cells this worker runs at once. */
  concurrency: number;
  process: Omit<CellProcessOptions, 'gpu'>;
  onEvent?: (line: string) => void;
  /** How long a job whose cell another worker holds waits before it is tried again (default 15 s). */
  busyDelayMs?: number;
}

/** A worker machine's side: pulls cells from the queue until closed; each runs in its own process. */
export function startQueueWorker(options: QueueWorkerOptions): Worker<CellJob> {
  const say = options.onEvent ?? ((line: string) => console.log(line));
  const later = async (job: Job<CellJob>, token: string | undefined, why: string) => {
    const delay = options.busyDelayMs ?? BUSY_DELAY_MS;
    say(`later ${job.name}: ${why}; again in ${Math.round(delay / 1000)} s`);
    await job.moveToDelayed(Date.now() + delay, token);
    // BullMQ's way of saying the job was moved on purpose: neither completed nor failed.
    throw new DelayedError();
  };
  const worker = new Worker<CellJob>(options.queueName ?? DEFAULT_QUEUE, async (job, token) => {
    const holder = liveLock(join(job.data.dir, LOCK_FILE))?.owner;
    if (holder) return later(job, token, `being trained by process ${holder.pid} on ${holder.host}`);
    say(`start ${job.name}`);
    const outcome = await runCellProcess(job.data.dir, job.data.logPath, options.process);
    if (!outcome.ok && outcome.busy) return later(job, token, outcome.error);
    if (!outcome.ok) throw new Error(`${outcome.error} (log: ${job.data.logPath})`);
    say(`finished ${job.name}`);
  }, {
    connection: redisConnection(options.url), concurrency: options.concurrency,
    // Each stall is a worker that died with the cell (its checkpoint kept); failing the cell for it would lose no
    // work but stop the matrix, so a cell survives several before it is given up.
    maxStalledCount: 5,
  });
  worker.on('failed', (job, error) => say(`failed ${job?.name ?? '?'}: ${error.message}`));
  return worker;
}
