// `sqakd worker --redis <url>`: a worker machine's loop: pulls matrix cells from the Redis queue and runs each in
// a process of its own, until stopped. On SIGINT/SIGTERM its cells stop after their current step (checkpoints
// kept) and the queue hands them to another worker, which resumes them.
import { availableParallelism } from 'node:os';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { DEFAULT_QUEUE, startQueueWorker } from '../../runs/matrix/redisQueue.ts';
import { type Command, positiveInt, stringFlag, UsageError } from '../command.ts';

export const workerCommand: Command = {
  summary: 'run matrix cells from a Redis queue (scale-out: start one per machine; see sqakd matrix --queue redis)',
  usage: `sqakd worker --redis redis://host:6379 [--queue-name ${DEFAULT_QUEUE}] [--concurrency 1] [--threads N] ` +
    '[--allow-env-change] [--data-dir <dir>] [--backend ...]',
  options: {
    redis: { type: 'string' }, 'queue-name': { type: 'string' }, concurrency: { type: 'string' },
    threads: { type: 'string' }, 'data-dir': { type: 'string' }, backend: { type: 'string' },
    'allow-env-change': { type: 'boolean' },
  },
  async run(values) {
    const url = stringFlag(values.redis);
    if (!url) throw new UsageError('sqakd worker: --redis <url> is required (e.g. redis://127.0.0.1:6379)');
    const concurrency = positiveInt(values.concurrency, 'concurrency', 1);
    const threads = positiveInt(values.threads, 'threads', Math.max(1, Math.floor(availableParallelism() / concurrency)));
    const worker = startQueueWorker({
      url, queueName: stringFlag(values['queue-name']), concurrency,
      process: { dataDir: resolveDataDir(stringFlag(values['data-dir'])), backend: stringFlag(values.backend), threads,
        allowEnvChange: values['allow-env-change'] === true },
    });
    await worker.waitUntilReady();
    console.log(`worker ready on ${url} (queue ${stringFlag(values['queue-name']) ?? DEFAULT_QUEUE}, ${concurrency} at a time, ${threads} thread(s) each)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        console.log('worker stopping');
        void worker.close(true).then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
