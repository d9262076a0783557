// The `sqakd` command tree on commander: every command and flag with its description, default and valid values,
// `sqakd help <command>` and `sqakd <command> --help` alike, suggestions for misspelt commands and flags, and
// every parse error as one line.
import { Command } from 'commander';

import { backendCommand } from './commands/backend.ts';
import { benchCommand } from './commands/bench.ts';
import { checkpointCommand } from './commands/checkpoint.ts';
import { dataCommand } from './commands/data.ts';
import { evalCommand } from './commands/eval.ts';
import { landscapeCommand } from './commands/landscape.ts';
import { listCommand } from './commands/list.ts';
import { matrixCommand } from './commands/matrix.ts';
import { methodsCommand } from './commands/methods.ts';
import { reportCommand } from './commands/report.ts';
import { runCellCommand } from './commands/runCell.ts';
import { schemaCommand } from './commands/schema.ts';
import { trainCommand } from './commands/train.ts';
import { workerCommand } from './commands/worker.ts';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED } from './exitCodes.ts';
import { versionText } from './version.ts';

const ENVIRONMENT = `Environment:
  SQAKD_BACKEND        auto|libtorch|tensorflow|cpu (the --backend flag wins)
  SQAKD_DATA           the data directory (the --data-dir flag wins)
  SQAKD_THREADS        libtorch's intra-op threads (default: every core)
  SQAKD_DEVICE         auto|cpu|cuda
  SQAKD_MEMORY_CACHE   size of the freed-tensor cache, e.g. 2GiB (default: a fraction of the machine's memory)
  LIBTORCH             the libtorch to build the addon against (npm run build:native)

Exit codes: ${EXIT_OK} done, ${EXIT_RUN_FAILED} a run or cell failed, ${EXIT_BAD_INPUT} bad input (flags, spec, setting or output folder refused; nothing was written)`;

/** A parse error as one line: commander puts its "Did you mean" on a line of its own. */
function oneLine(message: string, command: Command): string {
  const text = message.replace(/^error: /, '').replace(/\s*\n\s*\(Did you mean/, ' (did you mean').trim();
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  return `${path.join(' ')}: ${text}\n`;
}

/** Every command's parse and output settings, applied down the tree. */
function configure(command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (message, write) => write(oneLine(message, command)) });
  for (const sub of command.commands) configure(sub);
}

/** The whole `sqakd` program. */
export function createProgram(): Command {
  const program = new Command('sqakd')
    .description('SQAKD and 11 knowledge-distillation methods on quantization-aware training: train, matrix, bench, report')
    .option('-V, --version', 'package version, git commit, tfjs and libtorch versions')
    .addHelpText('after', `\n${ENVIRONMENT}`)
    .addCommand(trainCommand())
    .addCommand(evalCommand())
    .addCommand(checkpointCommand())
    .addCommand(matrixCommand())
    .addCommand(reportCommand())
    .addCommand(landscapeCommand())
    .addCommand(workerCommand())
    .addCommand(runCellCommand())
    .addCommand(benchCommand())
    .addCommand(dataCommand())
    .addCommand(listCommand())
    .addCommand(methodsCommand())
    .addCommand(schemaCommand())
    .addCommand(backendCommand())
    // Computed only when asked for: it loads the libtorch addon to read its version.
    .on('option:version', () => {
      console.log(versionText());
      process.exit(EXIT_OK);
    });
  configure(program);
  return program;
}
