// `sqakd run-cell <folder>`: trains one matrix cell in this process; matrix workers start it, one process per cell.
import { Command } from 'commander';

import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { CELL_BUSY_EXIT } from '../../runs/matrix/exitCodes.ts';
import { CellBusyError, runCell } from '../../runs/matrix/runCell.ts';
import { allowEnvChangeOption, backendOption, dataDirOption, type FlagValues, stringFlag } from '../command.ts';

async function trainCell(dir: string, o: FlagValues): Promise<void> {
  const backend = await initBackend(stringFlag(o.backend));
  try {
    const run = runCell(dir, resolveDataDir(stringFlag(o.dataDir)), backend, { allowEnvChange: o.allowEnvChange === true });
    const { result } = run;
    console.log(run.kind === 'training'
      ? `cell finished: top-1 ${run.result.top1.toFixed(2)}% after ${run.result.epochs} epochs, ${result.wallSeconds.toFixed(0)} s`
      : `landscape job finished, ${result.wallSeconds.toFixed(0)} s`);
  } catch (e) {
    if (!(e instanceof CellBusyError)) throw e;
    // Not a failure: the exit code tells the runner (or queue worker) to come back later.
    console.log(e.message);
    process.exit(CELL_BUSY_EXIT);
  }
}

/** `sqakd run-cell`. */
export function runCellCommand(): Command {
  return new Command('run-cell')
    .description('train one matrix cell in its folder, or run its landscape job (what matrix workers run; resumes where it stopped)')
    .argument('<folder>', 'the cell folder, runs/<matrix>/<cell>')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .addOption(allowEnvChangeOption())
    .action(trainCell);
}
