// `sqakd run-cell <folder>`: trains one matrix cell in this process; matrix workers start it, one process per cell.
import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { CELL_BUSY_EXIT } from '../../runs/matrix/exitCodes.ts';
import { CellBusyError, runCell } from '../../runs/matrix/runCell.ts';
import { type Command, stringFlag, UsageError } from '../command.ts';

export const runCellCommand: Command = {
  summary: 'train one matrix cell in its folder (what matrix workers run; resumes from its checkpoint)',
  usage: 'sqakd run-cell <cell folder> [--data-dir <dir>] [--backend ...] [--allow-env-change]',
  options: { 'data-dir': { type: 'string' }, backend: { type: 'string' }, 'allow-env-change': { type: 'boolean' } },
  async run(values, positionals) {
    const [dir, ...extra] = positionals;
    if (!dir || extra.length) throw new UsageError('sqakd run-cell: give exactly one cell folder (runs/<matrix>/<cell>)');
    const backend = await initBackend(stringFlag(values.backend));
    try {
      const result = runCell(dir, resolveDataDir(stringFlag(values['data-dir'])), backend,
        { allowEnvChange: values['allow-env-change'] === true });
      console.log(`cell finished: top-1 ${result.top1.toFixed(2)}% after ${result.epochs} epochs, ${result.wallSeconds.toFixed(0)} s`);
    } catch (e) {
      if (!(e instanceof CellBusyError)) throw e;
      // Not a failure: the exit code tells the runner (or queue worker) to come back later.
      console.log(e.message);
      process.exit(CELL_BUSY_EXIT);
    }
  },
};
