// `sqakd data list|check|download`: which datasets are present under the data directory, a load check with
// counts and per-channel means, and downloads of the public datasets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { channelMeans, DATASETS, datasetSpec, downloadDataset, labelHistogram, resolveDataDir } from '../../datasets/index.ts';
import type { Split } from '../../datasets/index.ts';
import { type Command, UsageError } from '../command.ts';

const ACTIONS = ['list', 'check', 'download'];

function list(dataDir: string): void {
  console.log(`data directory: ${dataDir}`);
  for (const spec of Object.values(DATASETS)) {
    const where = spec.folder === null ? 'built in'
      : existsSync(join(dataDir, spec.folder)) ? `present (${spec.folder}/)` : `missing (${spec.folder}/)`;
    console.log(`  ${spec.name.padEnd(18)} ${where.padEnd(36)} ${spec.description}`);
  }
}

function check(name: string, dataDir: string): void {
  const spec = datasetSpec(name);
  for (const split of ['train', 'test'] as Split[]) {
    const start = performance.now();
    const set = spec.load(dataDir, split);
    const seconds = (performance.now() - start) / 1000;
    const histogram = labelHistogram(set);
    const means = channelMeans(set).map((m) => m.toFixed(4)).join(', ');
    console.log(`${spec.name} ${split}: ${set.count} images ${set.height}x${set.width}x${set.channels}, ` +
      `${set.classes} classes (${Math.min(...histogram)}..${Math.max(...histogram)} per class), channel means ` +
      `(0..255) ${means}; loaded in ${seconds.toFixed(2)} s`);
  }
}

export const dataCommand: Command = {
  summary: 'datasets: `list` (present under the data directory?), `check <name>` (load, counts, channel means), ' +
    '`download <name>` (official files, md5-checked)',
  usage: 'sqakd data list|check <name>|download <name> [--data-dir DIR]',
  options: {
    'data-dir': { type: 'string' },
  },
  async run(values, positionals) {
    const [action, name] = positionals;
    if (!ACTIONS.includes(action)) {
      throw new UsageError(`sqakd data: unknown action '${action ?? ''}' (valid: ${ACTIONS.join(', ')})`);
    }
    const dataDir = resolveDataDir(values['data-dir'] as string | undefined);
    if (action === 'list') {
      list(dataDir);
      return;
    }
    if (!name) {
      throw new UsageError(`sqakd data ${action}: name a dataset (valid: ${Object.keys(DATASETS).join(', ')})`);
    }
    if (action === 'check') check(name, dataDir);
    else console.log(`${name}: ready in ${await downloadDataset(name, dataDir)}`);
  },
};
