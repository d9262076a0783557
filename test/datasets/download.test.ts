// Downloads against a local HTTP server and injected failures (the test machines have no network): md5 checks
// (a mismatch deletes the partial file), extraction of .tar.gz and .zip archives, files saved in a subfolder, and
// the error without network, which must say the download failed and name the folder to provide by hand.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { downloadDataset } from '../../datasets/download.ts';
import type { DownloadSource } from '../../datasets/downloadSources.ts';

const root = mkdtempSync(join(tmpdir(), 'sqakd-download-'));
const served = new Map<string, Buffer>();
let server: Server;
let base: string;
const quiet = { log: () => {} };

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = served.get(request.url ?? '');
    response.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

/** A loopback port nothing listens on (a server's, after it closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** A .tar.gz (made by the system tar) holding folder/a.txt. */
function tarGzOf(folder: string): Buffer {
  const source = join(root, `src-${folder}`);
  mkdirSync(join(source, folder), { recursive: true });
  writeFileSync(join(source, folder, 'a.txt'), `inside ${folder}\n`);
  const archive = join(root, `${folder}.tar.gz`);
  execFileSync('tar', ['-czf', archive, '-C', source, folder]);
  return readFileSync(archive);
}

function archiveSource(folder: string, url: string, sum: string, archive: 'tar.gz' | 'zip' = 'tar.gz'): DownloadSource {
  return { folder, files: [{ file: `${folder}.${archive}`, urls: [url], md5: sum, archive }] };
}

describe('downloadDataset', () => {
  it('without network, says the download failed and names the folder to provide and the setting', async () => {
    const dataDir = join(root, 'offline');
    const offline: typeof fetch = () => Promise.reject(Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND www.cs.toronto.edu'), { code: 'ENOTFOUND' }),
    }));
    await expect(downloadDataset('cifar10', dataDir, { ...quiet, fetch: offline })).rejects.toThrow(new RegExp(
      'download failed for cifar-10-binary\\.tar\\.gz \\(https://www\\.cs\\.toronto\\.edu/~kriz/cifar-10-binary\\.tar\\.gz: ' +
      `getaddrinfo ENOTFOUND www\\.cs\\.toronto\\.edu\\); without network access, provide the folder ${dataDir}/` +
      'cifar-10-batches-bin by hand .* --data-dir or SQAKD_DATA'));
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('reports a refused connection the same way, trying every mirror', async () => {
    const dataDir = join(root, 'refused');
    const closed = await closedPort();
    const source: DownloadSource = {
      folder: 'mnist',
      files: [{ file: 'x.gz', urls: [`http://127.0.0.1:${closed}/x.gz`, `${base}/missing.gz`], md5: '0'.repeat(32), into: 'mnist' }],
    };
    await expect(downloadDataset('mnist', dataDir, { ...quiet, source })).rejects.toThrow(
      /download failed for x\.gz \(http:\/\/127\.0\.0\.1:\d+\/x\.gz: .*ECONNREFUSED.*; http:\/\/127\.0\.0\.1:\d+\/missing\.gz: HTTP 404.*provide the folder .*refused\/mnist by hand/);
    expect(existsSync(join(dataDir, 'mnist', 'x.gz.part'))).toBe(false);
  });

  it('deletes the file and fails on an md5 mismatch', async () => {
    const dataDir = join(root, 'mismatch');
    served.set('/bad.tar.gz', tarGzOf('cifar-10-batches-bin'));
    const source = archiveSource('cifar-10-batches-bin', `${base}/bad.tar.gz`, 'f'.repeat(32));
    await expect(downloadDataset('cifar10', dataDir, { ...quiet, source })).rejects.toThrow(
      /md5 mismatch for http:\/\/127\.0\.0\.1:\d+\/bad\.tar\.gz: got [0-9a-f]{32}, expected f{32} \(the partial file was deleted/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('downloads, verifies and extracts a .tar.gz, then deletes the archive', async () => {
    const dataDir = join(root, 'tar');
    const data = tarGzOf('cifar-100-binary');
    served.set('/c100.tar.gz', data);
    const folder = await downloadDataset('cifar100', dataDir, { ...quiet, source: archiveSource('cifar-100-binary', `${base}/c100.tar.gz`, md5(data)) });
    expect(folder).toBe(join(dataDir, 'cifar-100-binary'));
    expect(readFileSync(join(folder, 'a.txt'), 'utf8')).toBe('inside cifar-100-binary\n');
    expect(readdirSync(dataDir)).toEqual(['cifar-100-binary']);
    // Present now: nothing is fetched again.
    const never: typeof fetch = () => Promise.reject(new Error('fetched'));
    await expect(downloadDataset('cifar100', dataDir, { ...quiet, fetch: never })).resolves.toBe(folder);
  });

  it.skipIf(spawnSync('zip', ['-v']).error !== undefined)('extracts a .zip with the system unzip', async () => {
    const dataDir = join(root, 'zip');
    const source = join(root, 'src-zip');
    mkdirSync(join(source, 'tiny-imagenet-200'), { recursive: true });
    writeFileSync(join(source, 'tiny-imagenet-200', 'wnids.txt'), 'n01443537\n');
    execFileSync('zip', ['-qr', join(root, 'tiny.zip'), 'tiny-imagenet-200'], { cwd: source });
    const data = readFileSync(join(root, 'tiny.zip'));
    served.set('/tiny.zip', data);
    const folder = await downloadDataset('tiny-imagenet', dataDir,
      { ...quiet, source: archiveSource('tiny-imagenet-200', `${base}/tiny.zip`, md5(data), 'zip') });
    expect(readFileSync(join(folder, 'wnids.txt'), 'utf8')).toBe('n01443537\n');
    expect(existsSync(join(dataDir, 'tiny-imagenet-200.zip'))).toBe(false);
  });

  it('saves plain files into their subfolder, keeping verified ones', async () => {
    const dataDir = join(root, 'plain');
    const data = Buffer.from('idx bytes');
    served.set('/train.gz', data);
    const source: DownloadSource = {
      folder: 'fashion-mnist', files: [{ file: 'train.gz', urls: [`${base}/train.gz`], md5: md5(data), into: 'fashion-mnist' }],
    };
    await downloadDataset('fashion-mnist', dataDir, { ...quiet, source });
    expect(readFileSync(join(dataDir, 'fashion-mnist', 'train.gz')).equals(data)).toBe(true);
    served.delete('/train.gz');
    await expect(downloadDataset('fashion-mnist', dataDir, { ...quiet, source })).resolves.toBe(join(dataDir, 'fashion-mnist'));
  });

  it('rejects unknown and built-in datasets', async () => {
    await expect(downloadDataset('imagenet', root, quiet)).rejects.toThrow(/unknown dataset 'imagenet' \(valid: synthetic, mnist/);
    await expect(downloadDataset('synthetic', root, quiet)).rejects.toThrow(/synthetic is built in and needs no download/);
  });
});
