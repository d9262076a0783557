// A cell's folder on a store several machines share: its lock is judged stale by its heartbeat wherever its owner
// ran (or, on the owner's host, by its pid), a stale lock is taken over by exactly one waiter, a live one is
// respected, the heartbeat beats while the main thread is busy, and temporaries of dead processes are found.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import {
  acquireLock, createLock, type LockOwner, type LockSight, lookAtLock, newOwner, staleReason, takeOverStale,
} from '../../../runs/matrix/cellLock.ts';
import { leftoverTemporaries, removeLeftoverTemporaries } from '../../../runs/matrix/leftovers.ts';

const work = mkdtempSync(join(tmpdir(), 'sqakd-lock-'));
const fast = { heartbeatMs: 100, staleMs: 2_000, waitMs: 600, pollMs: 50 };

function folder(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes a lock as another worker would have, with its heartbeat `ageMs` old. */
function foreignLock(path: string, ageMs: number, owner: Partial<LockOwner> = {}): LockOwner {
  const full: LockOwner = { host: 'another-machine', pid: 4242, token: 'feedfacefeedface', since: new Date().toISOString(), ...owner };
  writeFileSync(path, JSON.stringify(full));
  const at = new Date(Date.now() - ageMs);
  utimesSync(path, at, at);
  return full;
}

function tokenAt(path: string): string | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LockOwner).token : undefined;
}

describe('cell lock', () => {
  it('judges staleness by the heartbeat on any host and by the pid on its own', () => {
    const owner = (host: string, pid: number): LockSight => ({ owner: { host, pid, token: 't', since: '' }, mtimeMs: 100_000, ino: 1 });
    const context = { now: 110_000, host: 'here', alive: (pid: number) => pid === 7, staleMs: 45_000 };
    expect(staleReason(owner('there', 7), context)).toBeNull();
    expect(staleReason(owner('there', 7), { ...context, now: 200_000 })).toMatch(/heartbeat stopped 100 s ago/);
    expect(staleReason(owner('here', 7), context)).toBeNull();
    expect(staleReason(owner('here', 8), context)).toMatch(/process 8 on this host is gone/);
    // A live pid does not keep a lock whose heartbeat stopped (the pid may be another process's by now).
    expect(staleReason(owner('here', 7), { ...context, now: 200_000 })).toMatch(/heartbeat stopped/);
    // A heartbeat that does not move while watched is stale even if the owner's clock runs far ahead.
    expect(staleReason({ ...owner('there', 7), mtimeMs: 1e12 }, { ...context, unchangedForMs: 50_000 })).toMatch(/not moved for 50 s/);
    expect(staleReason({ owner: null, mtimeMs: 100_000, ino: 1 }, context)).toBeNull();
  });

  it('takes over the lock of a dead worker on another host, and releases only its own', () => {
    const path = join(folder('dead-foreign'), 'worker.lock');
    foreignLock(path, 600_000);
    const lines: string[] = [];
    const taken = acquireLock(path, fast, (l) => lines.push(l));
    expect('held' in taken).toBe(true);
    if (!('held' in taken)) return;
    expect(lines.join('\n')).toMatch(/took over the lock of process 4242 on another-machine: its heartbeat stopped/);
    expect(tokenAt(path)).toBe(taken.held.owner.token);
    expect(lookAtLock(path)!.owner!.host).toBe(hostname());
    taken.held.release();
    expect(existsSync(path)).toBe(false);
    // Released twice, or after someone else locked the cell, it leaves the other's lock alone.
    const other = foreignLock(path, 0);
    taken.held.release();
    expect(tokenAt(path)).toBe(other.token);
  });

  it('respects a lock with a live heartbeat on another host: waits, then reports its owner', () => {
    const path = join(folder('live-foreign'), 'worker.lock');
    // Its heartbeat stays fresh for the whole wait (staleMs is longer than waitMs).
    const owner = foreignLock(path, 0);
    const start = Date.now();
    const taken = acquireLock(path, fast);
    expect('busy' in taken).toBe(true);
    if ('busy' in taken) expect(taken.busy.owner).toMatchObject({ host: 'another-machine', pid: 4242 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(fast.waitMs);
    expect(tokenAt(path)).toBe(owner.token);
  });

  it('lets only one of two waiters that judged the same lock stale remove it', () => {
    const path = join(folder('race'), 'worker.lock');
    foreignLock(path, 600_000);
    const seenByA = lookAtLock(path)!;
    const seenByB = lookAtLock(path)!;
    const a = newOwner();
    const b = newOwner();
    expect(takeOverStale(path, seenByA, a.token)).toBe(true);
    expect(createLock(path, a)).toBe(true);
    // B acts on what it saw before A's fresh lock existed: it must neither remove A's lock nor win.
    expect(takeOverStale(path, seenByB, b.token)).toBe(false);
    expect(tokenAt(path)).toBe(a.token);
    expect(createLock(path, b)).toBe(false);
  });

  it('gives a stale lock to exactly one of several processes racing for it', async () => {
    const dir = folder('processes');
    const path = join(dir, 'worker.lock');
    const script = `
      import { acquireLock } from './runs/matrix/cellLock.ts';
      const [path, startAt] = [process.argv[1], Number(process.argv[2])];
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, startAt - Date.now()));
      const taken = acquireLock(path, { heartbeatMs: 100, staleMs: 60000, waitMs: 0, pollMs: 10 });
      console.log('held' in taken ? 'won' : 'busy');
      // Holds the lock while the others look.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
      if ('held' in taken) taken.held.release();
    `;
    for (let round = 0; round < 2; round++) {
      foreignLock(path, 600_000, { token: `dead${round}` });
      const startAt = Date.now() + 4_000;
      const racers = await Promise.all([0, 1, 2, 3].map(() => execa(process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, path, String(startAt)], { reject: false })));
      const said = racers.map((r) => r.stdout.trim());
      expect(said.filter((s) => s === 'won'), racers.map((r) => r.stderr).join('\n')).toHaveLength(1);
      expect(said.filter((s) => s === 'busy')).toHaveLength(3);
      expect(existsSync(path)).toBe(false);
    }
  });

  it('beats while the main thread is busy, and notices when the lock is no longer its own', () => {
    const path = join(folder('heartbeat'), 'worker.lock');
    const taken = acquireLock(path, fast);
    if (!('held' in taken)) throw new Error('expected the lock');
    try {
      const old = new Date(Date.now() - 60_000);
      utimesSync(path, old, old);
      // Blocks this thread as a training epoch would.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(1_000);
      expect(taken.held.lost).toBe(false);
      foreignLock(path, 0);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      expect(taken.held.lost).toBe(true);
    } finally {
      taken.held.release();
    }
    // The other owner's lock stays.
    expect(tokenAt(path)).toBe('feedfacefeedface');
  });
});

describe('leftovers of dead processes', () => {
  it('picks out temporaries of other processes untouched for a while, and nothing else', () => {
    const now = 1_000_000;
    const entries = [
      { name: 'checkpoint.ckpt.tmp-123', mtimeMs: now - 120_000 },
      { name: 'result.json.tmp-124', mtimeMs: now - 1_000 }, // may still be being written
      { name: 'log.jsonl.tmp-77', mtimeMs: now - 120_000 }, // this process's own
      { name: 'worker.lock.aside-0123abcd', mtimeMs: now - 120_000 },
      { name: 'worker.lock.new-0123abcd', mtimeMs: now - 120_000 },
      { name: 'checkpoint.ckpt', mtimeMs: now - 120_000 },
      { name: 'notes.tmp-x', mtimeMs: now - 120_000 },
    ];
    expect(leftoverTemporaries(entries, now, 77)).toEqual([
      'checkpoint.ckpt.tmp-123', 'worker.lock.aside-0123abcd', 'worker.lock.new-0123abcd',
    ]);
    const dir = folder('leftovers');
    writeFileSync(join(dir, 'checkpoint.ckpt.tmp-999999'), 'x');
    writeFileSync(join(dir, 'result.json'), '{}');
    const old = new Date(Date.now() - 600_000);
    utimesSync(join(dir, 'checkpoint.ckpt.tmp-999999'), old, old);
    expect(removeLeftoverTemporaries(dir)).toEqual(['checkpoint.ckpt.tmp-999999']);
    expect(existsSync(join(dir, 'checkpoint.ckpt.tmp-999999'))).toBe(false);
    expect(existsSync(join(dir, 'result.json'))).toBe(true);
  });
});
