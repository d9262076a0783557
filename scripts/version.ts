// `sqakd --version`: what a bug report or a result needs to name the code that made it.
import * as tf from '@tensorflow/tfjs-core';

import { describeBackend } from '../engine/index.ts';
import { currentCodeVersion } from '../runs/provenance.ts';

/** The lines `sqakd --version` prints. */
export function versionText(): string {
  const code = currentCodeVersion();
  let libtorch: string;
  try {
    libtorch = String(describeBackend('libtorch').torch);
  } catch (e) {
    libtorch = `not available (${(e as Error).message.split('\n')[0]})`;
  }
  return [
    `sqakd-bench ${code.packageVersion}`,
    `git: ${code.gitCommit ? `${code.gitCommit}${code.gitDirty ? ' (uncommitted changes)' : ''}` : 'not a git checkout'}`,
    `tfjs: ${tf.version_core}`,
    `libtorch: ${libtorch}`,
  ].join('\n');
}
