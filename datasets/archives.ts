// Unpacking downloaded archives: .tar.gz with our own reader (tarGz.ts), .zip with the system `unzip` (Node has
// no zip reader built in, and the project takes no archive dependency).
import { spawnSync } from 'node:child_process';

import { extractTarGz } from './tarGz.ts';

/** Extracts `archive` (tar.gz or zip) into `destination`. */
export async function extractArchive(archive: string, kind: 'tar.gz' | 'zip', destination: string): Promise<void> {
  if (kind === 'tar.gz') {
    await extractTarGz(archive, destination);
    return;
  }
  const result = spawnSync('unzip', ['-q', '-o', archive, '-d', destination], { encoding: 'utf8' });
  if ((result.error as { code?: string } | undefined)?.code === 'ENOENT') {
    throw new Error(`cannot extract ${archive}: the system \`unzip\` is not installed (apt-get install unzip), or ` +
      `extract it into ${destination} by hand`);
  }
  if (result.error) throw new Error(`cannot extract ${archive}: ${result.error.message}`);
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout).split('\n').find((l) => l.trim() !== '') ?? `exit status ${result.status}`;
    throw new Error(`unzip failed on ${archive} (corrupt or truncated?): ${why.trim()}`);
  }
}
