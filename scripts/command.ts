// The shape of a `sqakd` subcommand and strict flag parsing with one-line errors that list the valid flags.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags: strings, booleans, or lists of strings for repeatable flags. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(values: FlagValues, positionals: string[]): Promise<void>;
}

/** An error meant for the user: printed as one line, without a stack trace. */
export class UsageError extends Error {}

/**
 * `--flag -5` as `--flag=-5`: node's parser takes a value that starts with '-' for another flag and calls the
 * argument ambiguous, so a negative number would never reach the check that says what the flag accepts.
 */
function attachNegativeNumbers(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : undefined;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/** Parses `args` against a command's options; unknown or malformed flags become a UsageError listing valid ones. */
export function parseCommandArgs(name: string, command: Command, args: string[]): {
  values: FlagValues;
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeNumbers(args, command.options), options: command.options, allowPositionals: true, strict: true,
    });
    return { values: values as FlagValues, positionals };
  } catch (e) {
    const valid = Object.keys(command.options).map((o) => `--${o}`).join(', ');
    // node's messages run on with advice about '--'; the first sentence names the problem.
    const problem = (e as Error).message.split('\n')[0].split('. ')[0];
    throw new UsageError(`sqakd ${name}: ${problem} (valid options: ${valid})`);
  }
}

/** A flag value as a positive integer, or a UsageError naming the flag. */
export function positiveInt(value: FlagValues[string], flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** A flag value as a finite number, or a UsageError naming the flag. */
export function numberFlag(value: FlagValues[string], flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${flag} must be a number, got '${value}'`);
  }
  return n;
}

/** A flag value as an integer, or a UsageError naming the flag. */
export function integerFlag(value: FlagValues[string], flag: string): number | undefined {
  const n = numberFlag(value, flag);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${flag} must be an integer, got '${value}'`);
  return n;
}

/** A string flag, or undefined. */
export function stringFlag(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Repeated `--flag key=value` pairs as numbers by key, or a UsageError naming the malformed one. */
export function keyValueNumbers(value: FlagValues[string], flag: string): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const pair of Array.isArray(value) ? value : [String(value)]) {
    const [key, raw, ...rest] = pair.split('=');
    const n = Number(raw);
    if (!key || raw === undefined || rest.length || raw.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError(`--${flag} takes key=number, got '${pair}'`);
    }
    out[key] = n;
  }
  return out;
}
