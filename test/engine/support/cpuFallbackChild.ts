// Run by loader.test.ts in a child process: lets the loader choose a backend, runs a real op on it (the first
// tensor write is when tfjs's cpu backend would print its banner) and prints both as one JSON line.
import * as tf from '@tensorflow/tfjs-core';

import { initBackend } from '../../../engine/index.ts';

const backend = await initBackend();
const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync();
console.log(JSON.stringify({ backend, sum }));
