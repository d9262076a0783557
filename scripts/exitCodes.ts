// The exit codes `sqakd` promises (README, "Exit codes"): scripts and schedulers tell a refused command line from
// a run that failed. The matrix's worker processes have codes of their own (runs/matrix/exitCodes.ts).
import { CommanderError } from 'commander';

import { SettingError } from '../engine/index.ts';
import { MatrixSpecError } from '../runs/matrix/matrixSpec.ts';
import { RunRefusedError } from '../runs/runRefused.ts';
import { UsageError } from './command.ts';

/** Everything asked for was done. */
export const EXIT_OK = 0;
/** A run started and failed (a cell failed, a loss went non-finite, a worker died). */
export const EXIT_RUN_FAILED = 1;
/** The command line, a spec, a setting, the data, an output folder or a teacher was refused before training began. */
export const EXIT_BAD_INPUT = 2;

/** The exit code for an error that ended a command. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  const refused = e instanceof UsageError || e instanceof MatrixSpecError || e instanceof RunRefusedError ||
    e instanceof SettingError;
  return refused ? EXIT_BAD_INPUT : EXIT_RUN_FAILED;
}
