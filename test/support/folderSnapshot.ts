// Every file under a folder with its bytes, to show that a refused command changed nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Relative path -> base64 bytes of every file under `folder`, subfolders included. */
export function folderSnapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(folder, path)] = readFileSync(path).toString('base64');
  }
  return out;
}
