// A run that was refused before it trained anything (missing data, a folder holding another run's files, a teacher
// of another architecture or too weak, a resume under another numeric environment): the user's input to fix, not a
// failure of the run. The command line exits with its bad-input code for these (scripts/exitCodes.ts).

/** Refused before training began; nothing was written. */
export class RunRefusedError extends Error {}

/** Runs a check or a load that precedes training; what it throws becomes a RunRefusedError with the same message. */
export function refusedOnError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof RunRefusedError) throw e;
    throw new RunRefusedError((e as Error).message);
  }
}
