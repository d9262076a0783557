// `sqakd`: the command-line entry point. The command tree is in program.ts, each command in scripts/commands/.
import { CommanderError } from 'commander';

import { exitCodeOf } from './exitCodes.ts';
import { createProgram } from './program.ts';

// `sqakd list methods | head -1`: a reader that closes the pipe early has all it wanted; end quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

try {
  await createProgram().parseAsync(process.argv.slice(2), { from: 'user' });
} catch (e) {
  // commander has printed its own errors (and help, and the version) already.
  if (!(e instanceof CommanderError)) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(message.startsWith('sqakd') ? message : `sqakd: ${message}`);
  }
  process.exitCode = exitCodeOf(e);
}
