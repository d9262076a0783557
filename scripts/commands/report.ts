// `sqakd report <matrix>` (`npm run report -- <matrix>`): the comparison report of a matrix's run store, written to
// <reports-dir>/<matrix>/: the paper's tables, charts, the claims' verdicts and index.html. `sqakd matrix` writes
// the same report after every finished cell; this command rewrites it at any time, from the store alone.
import { join, resolve } from 'node:path';

import { Command } from 'commander';

import { didYouMean } from '../../engine/didYouMean.ts';
import { PUBLISHED_TEMPLATE } from '../../reports/published.ts';
import { storedMatrices } from '../../reports/readStoreCells.ts';
import { summaryLines } from '../../reports/reportSummary.ts';
import { type FlagValues, stringFlag, UsageError } from '../command.ts';

async function runReport(matrix: string, values: FlagValues): Promise<void> {
  const runsDir = resolve(stringFlag(values.runsDir) ?? 'runs');
  const known = storedMatrices(runsDir);
  if (!known.includes(matrix)) {
    throw new UsageError(known.length
      ? `sqakd report: no matrix '${matrix}' in ${runsDir}${didYouMean(matrix, known)} (matrices there: ${known.join(', ')})`
      : `sqakd report: no matrix '${matrix}' in ${runsDir}: it holds no matrix yet (run sqakd matrix first, or give --runs-dir)`);
  }
  const published = values.published === false ? null : stringFlag(values.published) ?? PUBLISHED_TEMPLATE;
  // Loaded here, not with the CLI: vega and the PNG renderer are only for reports.
  const { writeReport } = await import('../../reports/writeReport.ts');
  const written = await writeReport({
    storeRoot: join(runsDir, matrix), name: matrix, outDir: join(resolve(stringFlag(values.reportsDir) ?? 'reports'), matrix),
    published, force: values.force === true,
  });
  for (const line of summaryLines(written.summary)) console.log(line);
  for (const problem of written.problems) console.error(`unreadable: ${problem}`);
  console.log(`report: ${join(written.dir, 'index.html')} (${written.files.length} files)`);
}

/** `sqakd report`. */
export function reportCommand(): Command {
  return new Command('report')
    .summary("write a matrix's report: the paper's tables, charts, the claims' verdicts and index.html")
    .description("Read <runs-dir>/<matrix>/ and write <reports-dir>/<matrix>/: index.html (opens from disk, no network), " +
      'table.md and table.csv, each paper table as .md and .csv, cells.json and cells.csv with every field of every ' +
      'result.json, and the charts as .svg and .png. Unfinished and failed cells are marked; unreadable files are named.')
    .argument('<matrix>', "the matrix's name: its folder under --runs-dir")
    .option('--runs-dir <dir>', 'the run store', 'runs')
    .option('--reports-dir <dir>', 'where reports go', 'reports')
    .option('--published <file>', 'published numbers to show beside ours (YAML; default: the template reports/published.yaml)')
    .option('--no-published', 'show no published numbers')
    .option('--force', "move files the report did not write out of the way (into replaced-<time>/) instead of refusing")
    .action(runReport);
}
