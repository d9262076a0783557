// `sqakd backend`: which backend this machine runs on, and what the libtorch addon was built with.
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';

import { describeBackend, initBackend, libtorchKernelNames } from '../../engine/index.ts';
import { backendOption, type FlagValues, stringFlag } from '../command.ts';

async function showBackend(o: FlagValues): Promise<void> {
  const name = await initBackend(stringFlag(o.backend));
  const description = { backend: name, tfjs: tf.version_core, ...describeBackend(name) };
  if (o.kernels) console.log(libtorchKernelNames().sort().join('\n'));
  else if (o.json) console.log(JSON.stringify(description));
  else for (const [key, value] of Object.entries(description)) console.log(`${key}: ${value}`);
}

/** `sqakd backend`. */
export function backendCommand(): Command {
  return new Command('backend')
    .description('show the backend in use (libtorch, tensorflow or cpu) and its build')
    .addOption(backendOption())
    .option('--kernels', 'list the kernels the libtorch backend implements')
    .option('--json', 'print one JSON line')
    .action(showBackend);
}
