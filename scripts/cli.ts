// `sqakd`: the command-line entry point. Each subcommand lives in scripts/commands/.
import { backendCommand } from './commands/backend.ts';
import { benchCommand } from './commands/bench.ts';
import { dataCommand } from './commands/data.ts';
import { evalCommand } from './commands/eval.ts';
import { listCommand } from './commands/list.ts';
import { matrixCommand } from './commands/matrix.ts';
import { methodsCommand } from './commands/methods.ts';
import { runCellCommand } from './commands/runCell.ts';
import { trainCommand } from './commands/train.ts';
import { workerCommand } from './commands/worker.ts';
import { type Command, parseCommandArgs, UsageError } from './command.ts';

const COMMANDS: Record<string, Command> = {
  backend: backendCommand,
  bench: benchCommand,
  data: dataCommand,
  train: trainCommand,
  eval: evalCommand,
  list: listCommand,
  methods: methodsCommand,
  matrix: matrixCommand,
  worker: workerCommand,
  'run-cell': runCellCommand,
};

function help(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return `usage: sqakd <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    'environment: SQAKD_BACKEND (auto|libtorch|tensorflow|cpu), SQAKD_DATA (data directory), SQAKD_THREADS, ' +
    'SQAKD_DEVICE (auto|cpu|cuda), LIBTORCH (libtorch to build against)';
}

/** One command's usage, summary and flags, for `sqakd <command> --help`. */
function commandHelp(command: Command): string {
  const flags = Object.entries(command.options).map(([flag, o]) => `--${flag}${o.type === 'string' ? ' <value>' : ''}`);
  return `usage: ${command.usage}\n\n${command.summary}\n\noptions: ${flags.join(', ')}`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`sqakd: unknown command '${name}' (valid: ${Object.keys(COMMANDS).join(', ')})`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(command));
    return;
  }
  const { values, positionals } = parseCommandArgs(name, command, rest);
  await command.run(values, positionals);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  console.error(message.startsWith('sqakd') ? message : `sqakd: ${message}`);
  process.exitCode = 1;
});
