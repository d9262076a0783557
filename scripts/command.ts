// The shape of a `sqakd` subcommand and strict flag parsing with one-line errors that list the valid flags.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

/** An error meant for the user: printed as one line, without a stack trace. */
export class UsageError extends Error {}

/** Parses `args` against a command's options; unknown or malformed flags become a UsageError listing valid ones. */
export function parseCommandArgs(name: string, command: Command, args: string[]): {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({ args, options: command.options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    const valid = Object.keys(command.options).map((o) => `--${o}`).join(', ');
    // node's messages run on with advice about '--'; the first sentence names the problem.
    const problem = (e as Error).message.split('\n')[0].split('. ')[0];
    throw new UsageError(`sqakd ${name}: ${problem} (valid options: ${valid})`);
  }
}

/** A flag value as a positive integer, or a UsageError naming the flag. */
export function positiveInt(value: string | boolean | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** A flag value as a finite number, or a UsageError naming the flag. */
export function numberFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${flag} must be a number, got '${value}'`);
  }
  return n;
}

/** A flag value as an integer, or a UsageError naming the flag. */
export function integerFlag(value: string | boolean | undefined, flag: string): number | undefined {
  const n = numberFlag(value, flag);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${flag} must be an integer, got '${value}'`);
  return n;
}

/** A string flag, or undefined. */
export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
