// Scale-out on Redis with BullMQ: the runner puts each ready cell on a queue; any number of `sqakd worker`
// processes, on any machines, pull cells and run each in a worker process of their own, exactly as the local pool
// does. Workers and runner must see the same run store (a shared file system), because a student reads its
// teacher's checkpoint and every cell writes its files in its folder. BullMQ's stalled-job check hands the cell of
// a worker that died to another worker, which resumes it from its checkpoint.
import { Queue, QueueEvents, Worker } from 'bullmq';

import type { CellExecutor, CellOutcome } from './cellExecutor.ts';
import { type CellProcessOptions, runCellProcess } from './cellProcess.ts';
import type { MatrixCell } from './plan.ts';
import type { RunStore } from './runStore.ts';

export const DEFAULT_QUEUE = 'sqakd-cells';

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

  async run(cell: MatrixCell): Promise<CellOutcome> {
    // Listening must start before the first job is added, or a fast worker's completion is missed.
    this.ready ??= this.events.waitUntilReady();
    await this.ready;
    const data: CellJob = { dir: this.store.cellDir(cell.id), logPath: this.store.workerLogPath(cell.id) };
    const job = await this.queue.add(cell.id, data, {
      jobId: `${cell.id}-${Date.now()}`, attempts: 1, removeOnComplete: 1000, removeOnFail: 1000,
    });
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
}

/** A worker machine's side: pulls cells from the queue until closed; each runs in its own process. */
export function startQueueWorker(options: QueueWorkerOptions): Worker<CellJob> {
  const say = options.onEvent ?? ((line: string) => console.log(line));
  const worker = new Worker<CellJob>(options.queueName ?? DEFAULT_QUEUE, async (job) => {
    say(`start ${job.name}`);
    const outcome = await runCellProcess(job.data.dir, job.data.logPath, options.process);
    if (!outcome.ok) throw new Error(`${outcome.error} (log: ${job.data.logPath})`);
    say(`finished ${job.name}`);
  }, { connection: redisConnection(options.url), concurrency: options.concurrency });
  worker.on('failed', (job, error) => say(`failed ${job?.name ?? '?'}: ${error.message}`));
  return worker;
}
