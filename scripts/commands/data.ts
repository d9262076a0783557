// `sqakd data list|check|download`: which datasets are present under the data directory, a load check with
// counts and per-channel means, and downloads of the public datasets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { Command } from 'commander';

import { channelMeans, DATASETS, datasetSpec, downloadDataset, labelHistogram, resolveDataDir } from '../../datasets/index.ts';
import type { Split } from '../../datasets/index.ts';
import { refusedOnError } from '../../runs/runRefused.ts';
import { choiceArgument, dataDirOption, type FlagValues, stringFlag } from '../command.ts';

function list(o: FlagValues): void {
  const dataDir = resolveDataDir(stringFlag(o.dataDir));
  console.log(`data directory: ${dataDir}`);
  for (const spec of Object.values(DATASETS)) {
    const where = spec.folder === null ? 'built in'
      : existsSync(join(dataDir, spec.folder)) ? `present (${spec.folder}/)` : `missing (${spec.folder}/)`;
    console.log(`  ${spec.name.padEnd(18)} ${where.padEnd(36)} ${spec.description}`);
  }
}

function check(name: string, o: FlagValues): void {
  const spec = refusedOnError(() => datasetSpec(name));
  const dataDir = resolveDataDir(stringFlag(o.dataDir));
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

async function download(name: string, o: FlagValues): Promise<void> {
  refusedOnError(() => datasetSpec(name));
  console.log(`${name}: ready in ${await downloadDataset(name, resolveDataDir(stringFlag(o.dataDir)))}`);
}

/** `sqakd data` and its actions. */
export function dataCommand(): Command {
  const dataset = () => choiceArgument('<name>', 'dataset name', Object.keys(DATASETS));
  return new Command('data')
    .description('datasets: which are present, a load check, downloads of the public ones')
    .addCommand(new Command('list').description('which datasets are present under the data directory')
      .addOption(dataDirOption()).action(list))
    .addCommand(new Command('check').description('load a dataset: counts, classes, channel means')
      .addArgument(dataset()).addOption(dataDirOption()).action(check))
    .addCommand(new Command('download').description("fetch a dataset's official files (md5-checked) into the data directory")
      .addArgument(dataset()).addOption(dataDirOption()).action(download));
}
