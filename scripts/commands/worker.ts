// `sqakd worker --redis <url>`: a worker machine's loop: pulls matrix cells from the Redis queue and runs each in
// a process of its own, until stopped. On SIGINT/SIGTERM its cells stop after their current step (checkpoints
// kept) and the queue hands them to another worker, which resumes them.
import { availableParallelism } from 'node:os';

import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { DEFAULT_QUEUE, startQueueWorker } from '../../runs/matrix/redisQueue.ts';
import {
  allowEnvChangeOption, backendOption, dataDirOption, type FlagValues, positiveInt, stringFlag, threadsOption, UsageError,
} from '../command.ts';

async function work(o: FlagValues): Promise<void> {
  const url = stringFlag(o.redis);
  if (!url) throw new UsageError('sqakd worker: --redis <url> is required (e.g. redis://127.0.0.1:6379)');
  const concurrency = positiveInt(o.concurrency, 'concurrency', 1);
  const threads = positiveInt(o.threads, 'threads', Math.max(1, Math.floor(availableParallelism() / concurrency)));
  const queueName = stringFlag(o.queueName);
  const worker = startQueueWorker({
    url, queueName, concurrency,
    process: { dataDir: resolveDataDir(stringFlag(o.dataDir)), backend: stringFlag(o.backend), threads,
      allowEnvChange: o.allowEnvChange === true },
  });
  await worker.waitUntilReady();
  console.log(`worker ready on ${url} (queue ${queueName ?? DEFAULT_QUEUE}, ${concurrency} at a time, ${threads} thread(s) each)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      console.log('worker stopping');
      void worker.close(true).then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** `sqakd worker`. */
export function workerCommand(): Command {
  return new Command('worker')
    .description('run matrix cells from a Redis queue (scale-out: start one per machine; see sqakd matrix --queue redis)')
    .option('--redis <url>', 'required: the Redis server, e.g. redis://127.0.0.1:6379')
    .option('--queue-name <name>', 'the queue the runner fills', DEFAULT_QUEUE)
    .option('--concurrency <n>', 'cells run at once on this machine', '1')
    .addOption(threadsOption('threads per cell (default: the cores divided by --concurrency)'))
    .addOption(dataDirOption())
    .addOption(backendOption())
    .addOption(allowEnvChangeOption())
    .action(work);
}
