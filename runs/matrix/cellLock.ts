// The lock that keeps two workers off one cell, on a run store that several machines may share. The lock file is
// created atomically and complete (a hard link to a finished temporary file, so nobody reads it half-written) and
// names its owner: host, pid and a random token. A thread of the owner refreshes the file's modification time every
// few seconds whatever the main thread is busy with (a training step, data loading, an evaluation), so a lock whose
// heartbeat stopped belongs to a dead process or a dead machine, wherever it ran. On the owner's own host a dead pid
// makes it stale at once; a live pid does not keep a lock with a stopped heartbeat (the pid may have been reused).
// A stale lock is taken over by one waiter at a time (a guard file, created as atomically as the lock), which looks
// at the lock again and moves it aside, deleting it only if it is still the lock it judged stale.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface LockOwner {
  host: string;
  pid: number;
  token: string;
  since: string;
}

/** What a look at a lock file found: its owner (null when unreadable) and its identity and heartbeat. */
export interface LockSight {
  owner: LockOwner | null;
  mtimeMs: number;
  ino: number;
}

export interface LockTimings {
  /** How often the owner refreshes its heartbeat. */
  heartbeatMs: number;
  /** A heartbeat this old means its owner is gone; several beats, so a busy file server does not break locks. */
  staleMs: number;
  /** How long a worker waits for a live owner before giving up (longer than staleMs, so a just-dead owner's lock is taken). */
  waitMs: number;
  pollMs: number;
}

export const LOCK_TIMINGS: LockTimings = { heartbeatMs: 5_000, staleMs: 45_000, waitMs: 60_000, pollMs: 250 };

/** The facts a staleness judgement needs about the world, passed in so the judgement stays a pure function. */
export interface StaleContext {
  now: number;
  host: string;
  alive: (pid: number) => boolean;
  staleMs: number;
  /** How long this waiter has seen the same heartbeat (guards against a clock far ahead on the owner's host). */
  unchangedForMs?: number;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A fresh owner for this process. */
export function newOwner(): LockOwner {
  return { host: hostname(), pid: process.pid, token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null;
    // Locks of earlier versions had no token: they match nobody's.
    return { host: o.host, pid: o.pid, token: typeof o.token === 'string' ? o.token : '', since: o.since ?? '' };
  } catch {
    return null;
  }
}

/** Reads a lock file; undefined when there is none. */
export function lookAtLock(path: string): LockSight | undefined {
  try {
    const stat = statSync(path);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // removed between the two calls: an unreadable owner, looked at again on the next round
    }
    return { owner: parseOwner(text), mtimeMs: stat.mtimeMs, ino: stat.ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Why the lock seen is stale, or null while its owner may be alive. */
export function staleReason(sight: LockSight, context: StaleContext): string | null {
  const age = context.now - sight.mtimeMs;
  if (age > context.staleMs) return `its heartbeat stopped ${Math.round(age / 1000)} s ago`;
  if ((context.unchangedForMs ?? 0) > context.staleMs) {
    return `its heartbeat has not moved for ${Math.round(context.unchangedForMs! / 1000)} s`;
  }
  const owner = sight.owner;
  if (owner && owner.host === context.host && !context.alive(owner.pid)) return `process ${owner.pid} on this host is gone`;
  return null;
}

function sameLock(a: LockSight, b: LockSight): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.owner?.token === b.owner?.token;
}

/** Creates the lock for `owner` if there is none; true when it is now theirs. */
export function createLock(path: string, owner: LockOwner): boolean {
  const temporary = `${path}.new-${owner.token}`;
  writeFileSync(temporary, JSON.stringify(owner));
  try {
    linkSync(temporary, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    // A file system without hard links: exclusive creation is still atomic, only readers may see it empty for a
    // moment (an unreadable owner, which is never judged stale while its heartbeat is fresh).
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(owner));
      closeSync(fd);
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Moves the lock at `path` aside and deletes it if it is still exactly `expected` (true); anything else that was
 * moved is put back, unless someone locked the cell in the meantime. `token` names the aside file, so concurrent
 * movers never share one.
 */
function removeIfStill(path: string, expected: (moved: LockSight) => boolean, token: string): boolean {
  const aside = `${path}.aside-${token}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = lookAtLock(aside);
  if (moved && expected(moved)) {
    rmSync(aside, { force: true });
    return true;
  }
  try {
    linkSync(aside, path);
  } catch {
    // Someone locked the cell while the lock was aside; the owner of the moved lock sees at its next heartbeat
    // that the lock is no longer its own, and stops.
  }
  rmSync(aside, { force: true });
  return false;
}

/** A guard left by a taker that died while taking over; taking over takes milliseconds. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Removes the stale lock `seen`, if that is still the lock at `path`; true when it was removed by this call. Takers
 * take turns through a guard file, so none of them can move aside a fresh lock that another taker has just made
 * (the one who came second looks again, and finds the fresh lock).
 */
export function takeOverStale(path: string, seen: LockSight, token: string): boolean {
  const guard = `${path}.takeover`;
  const taker: LockOwner = { host: hostname(), pid: process.pid, token, since: new Date().toISOString() };
  if (!createLock(guard, taker)) {
    const other = lookAtLock(guard);
    if (other && Date.now() - other.mtimeMs > TAKEOVER_STALE_MS) removeIfStill(guard, (m) => sameLock(m, other), token);
    return false;
  }
  try {
    return removeIfStill(path, (moved) => sameLock(moved, seen), token);
  } finally {
    releaseLock(guard, taker);
  }
}

/** Removes the lock if it is still `owner`'s; true when it was. */
export function releaseLock(path: string, owner: LockOwner): boolean {
  const sight = lookAtLock(path);
  if (sight?.owner?.token !== owner.token) return false;
  return removeIfStill(path, (moved) => moved.owner?.token === owner.token, owner.token);
}

// The heartbeat runs in a thread of its own because a cell's training keeps the main thread busy for whole epochs.
// It stops beating (and raises the flag) as soon as the lock is no longer its owner's.
const HEARTBEAT = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { path, token, everyMs, flag } = workerData;
const lost = new Int32Array(flag);
const timer = setInterval(() => {
  let owner;
  try { owner = JSON.parse(fs.readFileSync(path, 'utf8')); } catch { owner = undefined; }
  if (!owner || owner.token !== token) {
    Atomics.store(lost, 0, 1);
    clearInterval(timer);
    return;
  }
  const now = new Date();
  try { fs.utimesSync(path, now, now); } catch {}
}, everyMs);
`;

/** The lock at `path` when a live worker (here or on another host) holds it; undefined when free or stale. */
export function liveLock(path: string, staleMs = LOCK_TIMINGS.staleMs): LockSight | undefined {
  const sight = lookAtLock(path);
  if (!sight) return undefined;
  return staleReason(sight, { now: Date.now(), host: hostname(), alive: processAlive, staleMs }) ? undefined : sight;
}

/** A lock this process holds, with its heartbeat; release() gives it up. */
export class HeldLock {
  private readonly lostFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly heartbeat: Worker;
  private released = false;

  constructor(readonly path: string, readonly owner: LockOwner, heartbeatMs: number) {
    this.heartbeat = new Worker(HEARTBEAT, {
      eval: true, workerData: { path, token: owner.token, everyMs: heartbeatMs, flag: this.lostFlag.buffer },
    });
    this.heartbeat.unref();
  }

  /** Whether another worker has taken the lock over (this one must stop writing to the cell). */
  get lost(): boolean {
    return Atomics.load(this.lostFlag, 0) === 1;
  }

  /** Stops the heartbeat and removes the lock if it is still this owner's; safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    void this.heartbeat.terminate();
    releaseLock(this.path, this.owner);
  }
}

export type LockOutcome = { held: HeldLock } | { busy: LockSight };

/**
 * Takes the lock at `path`, taking over a stale one, and waiting up to `timings.waitMs` for a live owner; returns
 * the lock, or what was seen of the live owner that kept it.
 */
export function acquireLock(path: string, timings: LockTimings = LOCK_TIMINGS,
  log: (line: string) => void = () => {}): LockOutcome {
  const owner = newOwner();
  const deadline = Date.now() + timings.waitMs;
  let watched: { key: string; since: number } | undefined;
  for (;;) {
    if (createLock(path, owner)) return { held: new HeldLock(path, owner, timings.heartbeatMs) };
    const sight = lookAtLock(path);
    if (!sight) continue;
    const key = `${sight.ino}|${sight.mtimeMs}|${sight.owner?.token}`;
    if (watched?.key !== key) watched = { key, since: Date.now() };
    const reason = staleReason(sight, {
      now: Date.now(), host: owner.host, alive: processAlive, staleMs: timings.staleMs, unchangedForMs: Date.now() - watched.since,
    });
    if (reason && takeOverStale(path, sight, owner.token)) {
      log(`took over the lock of process ${sight.owner?.pid ?? '?'} on ${sight.owner?.host ?? '?'}: ${reason}`);
      continue;
    }
    if (!reason && Date.now() > deadline) return { busy: sight };
    // A stale lock that another waiter is taking over is looked at again soon: that takes milliseconds.
    sleepSync(reason ? Math.min(timings.pollMs, 20) : timings.pollMs);
  }
}
