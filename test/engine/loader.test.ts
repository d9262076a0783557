// The backend loader: libtorch when its addon loads, cpu with a warning otherwise, forced choices honoured, and
// bad requests rejected with the valid names. The fallback is checked in a child process without the addon.
import { spawnSync } from 'node:child_process';
import { totalmem } from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { initBackend, parseBackendRequest } from '../../engine/index.ts';
import { defaultMemoryCacheLimit, memoryCacheSetting, parseMemorySize } from '../../engine/libtorch/addon.ts';
import { CPU_WARNING } from '../../engine/loader.ts';

function sqakd(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/sqakd.js', ...args], {
    encoding: 'utf8', env: { ...process.env, SQAKD_BACKEND: '', ...env },
  });
  const stderr = result.stderr.split('\n').filter((line) => line.startsWith('sqakd')).join('\n');
  return { status: result.status, stdout: result.stdout, stderr };
}

describe('backend loader', () => {
  afterEach(() => {
    delete process.env.SQAKD_BACKEND;
  });

  it('picks libtorch automatically when the addon is built', async () => {
    expect(await initBackend('auto')).toBe('libtorch');
    expect(tf.getBackend()).toBe('libtorch');
  });

  it('honours a forced backend from the argument or SQAKD_BACKEND', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env.SQAKD_BACKEND = 'libtorch';
    expect(await initBackend()).toBe('libtorch');
  });

  it('rejects an unknown backend, listing the valid ones', () => {
    expect(() => parseBackendRequest('gpu')).toThrow("unknown backend 'gpu' (valid: auto, libtorch, tensorflow, cpu)");
  });

  it('says how to install tfjs-node when the tensorflow backend is forced but missing', async () => {
    let installed = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      installed = false;
    }
    if (installed) return; // a machine with tfjs-node installed has nothing to report here
    await expect(initBackend('tensorflow')).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('falls back to cpu with a one-line warning when the addon cannot load', () => {
    const run = sqakd(['backend', '--json'], { SQAKD_LIBTORCH_ADDON: '/nonexistent/sqakd_libtorch.node' });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!).backend).toBe('cpu');
    expect(run.stderr).toMatch(/^sqakd: running on tfjs's pure-JavaScript cpu backend, about 2,000x slower.*libtorch-dev/);
    expect(run.stderr.split('\n')).toHaveLength(1);
  });

  it('prints that warning and nothing else on stderr, also once the cpu backend runs ops (no tfjs banner)', () => {
    // The whole of stderr, unfiltered: tfjs-backend-cpu prints a multi-line banner on its first tensor unless
    // the loader silences it.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/engine/support/cpuFallbackChild.ts'], {
      encoding: 'utf8',
      env: { ...process.env, SQAKD_BACKEND: '', SQAKD_LIBTORCH_ADDON: '/nonexistent/sqakd_libtorch.node' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({ backend: 'cpu', sum: [4, 6] });
    expect(run.stderr).toBe(`${CPU_WARNING}\n`);
  });

  it('fails with one line when libtorch is forced but cannot load', () => {
    const run = sqakd(['backend'], { SQAKD_BACKEND: 'libtorch', SQAKD_LIBTORCH_ADDON: '/nonexistent/addon.node' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^sqakd: backend 'libtorch' is not available: .*npm run build:native/);
    expect(run.stderr.split('\n')).toHaveLength(1);
  });
});

describe('memory cache settings', () => {
  it('reads sizes as bytes or with a binary unit', () => {
    expect(parseMemorySize('0')).toBe(0);
    expect(parseMemorySize('1073741824')).toBe(2 ** 30);
    expect(parseMemorySize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseMemorySize('2 GiB')).toBe(2 * 2 ** 30);
    expect(parseMemorySize('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseMemorySize('64k')).toBe(64 * 1024);
    for (const bad of ['', 'lots', '-1', '2 GiBs', '1e9', '0x10', 'MiB']) expect(parseMemorySize(bad)).toBeUndefined();
  });

  it('defaults to 1/8 of the memory the process may use; SQAKD_RELEASE_MEMORY=1 means no cache', () => {
    const constrained = process.constrainedMemory?.() ?? 0;
    const total = constrained > 0 ? Math.min(totalmem(), constrained) : totalmem();
    expect(defaultMemoryCacheLimit()).toBe(Math.floor(total / 8));
    expect(memoryCacheSetting({})).toBe(defaultMemoryCacheLimit());
    expect(memoryCacheSetting({ SQAKD_MEMORY_CACHE: '3GiB' })).toBe(3 * 2 ** 30);
    expect(memoryCacheSetting({ SQAKD_RELEASE_MEMORY: '1' })).toBe(0);
    expect(memoryCacheSetting({ SQAKD_RELEASE_MEMORY: '1', SQAKD_MEMORY_CACHE: '0' })).toBe(0);
    expect(memoryCacheSetting({ SQAKD_RELEASE_MEMORY: '0', SQAKD_MEMORY_CACHE: '1MiB' })).toBe(2 ** 20);
  });

  it('rejects a bad value with one line, also under the automatic backend choice', () => {
    expect(() => memoryCacheSetting({ SQAKD_MEMORY_CACHE: 'lots' })).toThrow(
      'SQAKD_MEMORY_CACHE=lots is not a memory size (bytes, or a number with KiB, MiB or GiB, e.g. 2GiB; 0 for no cache)');
    expect(() => memoryCacheSetting({ SQAKD_RELEASE_MEMORY: '1', SQAKD_MEMORY_CACHE: '1GiB' })).toThrow(/contradicts/);
    expect(() => memoryCacheSetting({ SQAKD_RELEASE_MEMORY: 'yes' })).toThrow(/SQAKD_RELEASE_MEMORY=yes is not valid/);
    // Not a fall-back to the cpu backend: the setting is the user's to fix.
    const run = sqakd(['backend', '--json'], { SQAKD_MEMORY_CACHE: '12 parsecs' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('sqakd: SQAKD_MEMORY_CACHE=12 parsecs is not a memory size (bytes, or a number with KiB, ' +
      'MiB or GiB, e.g. 2GiB; 0 for no cache)');
  });
});

describe('backend choice on the command line', () => {
  it('takes the backend from --backend, before SQAKD_BACKEND', () => {
    const backendOf = (run: ReturnType<typeof sqakd>) => JSON.parse(run.stdout.trim().split('\n').at(-1)!).backend;
    expect(backendOf(sqakd(['backend', '--json', '--backend', 'cpu']))).toBe('cpu');
    expect(backendOf(sqakd(['backend', '--json'], { SQAKD_BACKEND: 'cpu' }))).toBe('cpu');
    expect(backendOf(sqakd(['backend', '--json', '--backend', 'libtorch'], { SQAKD_BACKEND: 'cpu' }))).toBe('libtorch');
  });
});
