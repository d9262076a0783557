// The files a report writes into reports/<matrix>/, and the claim on that folder (outputFolder.ts): it may hold an
// earlier report's files and nothing else, so a report never overwrites a user's file; files an earlier report wrote
// that this one does not (a table of cells since removed from the matrix) are removed, so the folder is one report.
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { claimOutputFolder, OutputFolderError } from '../runs/outputFolder.ts';

/** Every name a report writes: the page, tables, flat records and charts (and atomic writes' temporaries). */
const REPORT_FILE = /^(?:index\.html|table\.(?:md|csv)|table\d[\w-]*\.(?:md|csv)|qat-[\w-]+\.(?:md|csv)|landscapes\.(?:md|csv)|cells\.(?:csv|json)|chart-[\w-]+\.(?:svg|png))$/;
const TEMPORARY = /\.tmp-\d+$/;

/** Whether a file name is one a report writes. */
export function isReportFile(name: string): boolean {
  return REPORT_FILE.test(name) || TEMPORARY.test(name);
}

/** The reporting code's own folders, which share reports/ with generated reports (a matrix named `charts`). */
const SOURCE_FOLDERS = ['charts', 'claims'].map((f) => fileURLToPath(new URL(`./${f}`, import.meta.url)));

/** Claims a report folder: it may hold earlier reports' files, nothing else (--force moves the rest aside). */
export function claimReportFolder(dir: string, options: { force?: boolean } = {}): void {
  // Not even --force may move the suite's source files aside.
  if (SOURCE_FOLDERS.includes(resolve(dir))) {
    throw new OutputFolderError(`${dir} holds the suite's reporting code: give the matrix another --name, or another --reports-dir`);
  }
  claimOutputFolder(dir, (entry) => (isReportFile(entry) ? 'this-run' : 'foreign'), { force: options.force, elsewhere: 'another --reports-dir' });
}

/** Removes the report files of `dir` that are not in `written` (an earlier report's leftovers). */
export function removeStaleReportFiles(dir: string, written: string[]): void {
  const keep = new Set(written);
  for (const entry of readdirSync(dir)) if (isReportFile(entry) && !keep.has(entry)) rmSync(join(dir, entry), { force: true });
}
