// Whole-file writes that are never seen half-done: write a temporary file beside the target, then rename it.
import { renameSync, writeFileSync } from 'node:fs';

/** Writes `content` to `path` atomically. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
