// `sqakd backend`: which backend this machine runs on, and what the libtorch addon was built with.
import * as tf from '@tensorflow/tfjs-core';

import { describeBackend, initBackend, libtorchKernelNames } from '../../engine/index.ts';
import type { Command } from '../command.ts';

export const backendCommand: Command = {
  summary: 'show the backend in use (libtorch, tensorflow or cpu) and its build',
  usage: 'sqakd backend [--backend auto|libtorch|tensorflow|cpu] [--kernels] [--json]',
  options: {
    backend: { type: 'string' },
    kernels: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const name = await initBackend(values.backend as string | undefined);
    const description = { backend: name, tfjs: tf.version_core, ...describeBackend(name) };
    if (values.kernels) {
      console.log(libtorchKernelNames().sort().join('\n'));
    } else if (values.json) {
      console.log(JSON.stringify(description));
    } else {
      for (const [key, value] of Object.entries(description)) console.log(`${key}: ${value}`);
    }
  },
};
