// Files a killed process leaves in a cell's folder: the temporaries of atomic writes (`<file>.tmp-<pid>`; a
// checkpoint's is as large as the checkpoint) and of the cell lock (`worker.lock.new-<token>`, `.aside-<token>`).
// Only the cell's lock holder writes its large files and the runner's writes last milliseconds, so once a worker
// holds the lock, a temporary of another process that has not been touched for a minute belongs to nobody.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface FolderEntry {
  name: string;
  mtimeMs: number;
}

const TEMPORARY = /\.tmp-(\d+)$|\.(?:new|aside)-[0-9a-f]+$/;
export const LEFTOVER_AGE_MS = 60_000;

/** The entries that are leftovers of dead processes: temporaries of another process, untouched for `minAgeMs`. */
export function leftoverTemporaries(entries: readonly FolderEntry[], now: number, ownPid: number,
  minAgeMs = LEFTOVER_AGE_MS): string[] {
  return entries.filter((e) => {
    const m = TEMPORARY.exec(e.name);
    if (!m) return false;
    if (m[1] !== undefined && Number(m[1]) === ownPid) return false;
    return now - e.mtimeMs > minAgeMs;
  }).map((e) => e.name);
}

/** Deletes the leftovers in `dir`; returns their names. */
export function removeLeftoverTemporaries(dir: string, minAgeMs = LEFTOVER_AGE_MS): string[] {
  const entries: FolderEntry[] = [];
  for (const name of readdirSync(dir)) {
    try {
      entries.push({ name, mtimeMs: statSync(join(dir, name)).mtimeMs });
    } catch {
      // gone meanwhile
    }
  }
  const leftovers = leftoverTemporaries(entries, Date.now(), process.pid, minAgeMs);
  for (const name of leftovers) rmSync(join(dir, name), { force: true });
  return leftovers;
}
