// Where datasets are read from: the --data-dir flag, else $SQAKD_DATA, else ./data. Nothing else is hard-coded.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory to use, from a flag value or $SQAKD_DATA (default ./data), as an absolute path. */
export function resolveDataDir(flag?: string): string {
  return resolve(flag || process.env.SQAKD_DATA || 'data');
}

/** The folder of one dataset inside the data directory; throws a one-line error naming it when it is missing. */
export function datasetFolder(dataDir: string, folder: string, dataset: string): string {
  const path = join(dataDir, folder);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new Error(`${dataset} not found: expected the folder ${path} (set --data-dir or SQAKD_DATA to the directory ` +
      `that contains ${folder}/)`);
  }
  return path;
}
