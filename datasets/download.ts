// `sqakd data download`: fetches a dataset's official files, checks each against its published md5 (a mismatch
// deletes the file and is an error), and unpacks archives into the data directory. Machines without network
// access get an error that says so and names the folder to provide by hand.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { extractArchive } from './archives.ts';
import { DOWNLOAD_SOURCES, type DownloadSource, type RemoteFile } from './downloadSources.ts';
import { datasetSpec } from './registry.ts';

export interface DownloadOptions {
  /** The fetch to use (tests inject failures); default: the global fetch. */
  fetch?: typeof fetch;
  /** Where progress lines go; default: stderr. */
  log?: (line: string) => void;
  /** How long to wait for a server's response headers, per URL (default 30 s). */
  connectTimeoutMs?: number;
  /** Overrides the published source (tests point it at a local server). */
  source?: DownloadSource;
}

/** Downloads, verifies and unpacks a dataset under `dataDir`; returns its folder. Present folders are kept. */
export async function downloadDataset(name: string, dataDir: string, options: DownloadOptions = {}): Promise<string> {
  const spec = datasetSpec(name);
  const source = options.source ?? DOWNLOAD_SOURCES[spec.name];
  if (!source) throw new Error(`${spec.name} is built in and needs no download`);
  const log = options.log ?? ((line: string) => console.error(line));
  const folder = join(dataDir, source.folder);
  const archived = source.files.some((f) => f.archive);
  if (archived && existsSync(folder)) {
    log(`${spec.name}: ${folder} is already present`);
    return folder;
  }
  for (const file of source.files) {
    const target = join(dataDir, file.into ?? '', file.file);
    if (existsSync(target) && md5Of(target) === file.md5) {
      log(`${spec.name}: ${target} is already present (md5 checked)`);
    } else {
      await fetchVerified(file, target, folder, dataDir, options, log);
    }
    if (file.archive) {
      log(`${spec.name}: extracting ${target}`);
      await extractArchive(target, file.archive, dataDir);
      // Deleted once unpacked: the archives are as large as the data (Tiny-ImageNet's is 248 MB).
      rmSync(target);
    }
  }
  if (!existsSync(folder)) throw new Error(`the downloaded files of ${spec.name} did not produce the folder ${folder}`);
  return folder;
}

function md5Of(path: string): string {
  return createHash('md5').update(readFileSync(path)).digest('hex');
}

/** Fetches `file` from its first mirror that answers, into `target` (via a .part file), checking its md5. */
async function fetchVerified(file: RemoteFile, target: string, folder: string, dataDir: string,
  options: DownloadOptions, log: (line: string) => void): Promise<void> {
  const failures: string[] = [];
  mkdirSync(join(dataDir, file.into ?? ''), { recursive: true });
  for (const url of file.urls) {
    log(`downloading ${url}`);
    const partial = `${target}.part`;
    let digest: string;
    try {
      digest = await fetchTo(url, partial, options);
    } catch (e) {
      rmSync(partial, { force: true });
      failures.push(`${url}: ${describe(e)}`);
      continue;
    }
    if (digest !== file.md5) {
      rmSync(partial, { force: true });
      throw new Error(`md5 mismatch for ${url}: got ${digest}, expected ${file.md5} (the partial file was deleted; ` +
        'retry, or provide the files by hand)');
    }
    renameSync(partial, target);
    log(`saved ${target} (${statSync(target).size} bytes, md5 ok)`);
    return;
  }
  throw new Error(`download failed for ${file.file} (${failures.join('; ')}); without network access, provide the ` +
    `folder ${folder} by hand (copied from a machine that has it) and point --data-dir or SQAKD_DATA at ${dataDir}`);
}

/** Streams a URL into `path`, returning the md5 of what was written. */
async function fetchTo(url: string, path: string, options: DownloadOptions): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('no response within the time limit')),
    options.connectTimeoutMs ?? 30_000);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { signal: controller.signal });
  } finally {
    // Only the wait for headers is limited: the body of a large file may take as long as it takes.
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  const hash = createHash('md5');
  const fd = openSync(path, 'w');
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The innermost cause of a fetch failure ("fetch failed" alone says nothing). */
function describe(e: unknown): string {
  let error = e as { message?: string; cause?: unknown; code?: string };
  while (error?.cause) error = error.cause as typeof error;
  const message = error?.message ?? String(e);
  return error?.code && !message.includes(error.code) ? `${error.code}: ${message}` : message;
}
