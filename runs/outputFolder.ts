// Output folders are claimed before anything is written to them: a folder that holds files of another run, or
// files the suite did not write, is refused with the reason and the way out, so no command ever overwrites or
// deletes a user's files. `--force` moves what is there into a dated `replaced-<time>/` subfolder first.
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

import { RunRefusedError } from './runRefused.ts';

/** How the writer sees one entry of the folder. */
export type EntryVerdict = 'this-run' | 'other-run' | 'foreign';

/** A folder that may not be written to; its message names the files, the reason and the way out. */
export class OutputFolderError extends RunRefusedError {}

export interface ClaimOptions {
  /** Move whatever is there (but earlier replaced-* folders) aside, then write. */
  force?: boolean;
  /** How the command spells the way out, e.g. 'another --out'. */
  elsewhere?: string;
  /** A note about moved files (stdout by default). */
  log?: (line: string) => void;
}

const REPLACED = /^replaced-/;

/** The `replaced-<time>` name for now: sortable, and valid on every file system. */
export function replacedFolderName(now = new Date()): string {
  return `replaced-${now.toISOString().replace(/[:.]/g, '-')}`;
}

function list(names: string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

/**
 * Checks `folder` before a command writes to it: every entry is judged by `judge` (earlier `replaced-*` folders
 * are always kept). Entries of another run or foreign ones are an OutputFolderError, unless `force`, which moves
 * every entry into a new `replaced-<time>/` folder. Returns that folder's path when files were moved.
 */
export function claimOutputFolder(folder: string, judge: (entry: string) => EntryVerdict,
  options: ClaimOptions = {}): string | undefined {
  if (!existsSync(folder)) return undefined;
  const entries = readdirSync(folder).filter((name) => !REPLACED.test(name));
  if (options.force) {
    if (!entries.length) return undefined;
    const aside = join(folder, replacedFolderName());
    mkdirSync(aside);
    for (const name of entries) renameSync(join(folder, name), join(aside, name));
    (options.log ?? console.log)(`${folder}: moved ${list(entries)} into ${aside} (--force)`);
    return aside;
  }
  const otherRun = entries.filter((name) => judge(name) === 'other-run');
  const foreign = entries.filter((name) => judge(name) === 'foreign');
  if (!otherRun.length && !foreign.length) return undefined;
  const reasons = [
    ...(otherRun.length ? [`files of a run with another configuration (${list(otherRun)})`] : []),
    ...(foreign.length ? [`files the suite did not write (${list(foreign)})`] : []),
  ];
  throw new OutputFolderError(`${folder} holds ${reasons.join(' and ')}; nothing was written: use ` +
    `${options.elsewhere ?? 'another output folder'}, or --force to move the old files into ${folder}/replaced-<time>/`);
}
