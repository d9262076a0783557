// What every `sqakd` subcommand shares: the error that means "bad input", commander options used by several
// commands, and the checks that turn a flag's text into a number with a one-line error naming the flag.
import { Argument, InvalidArgumentError, Option } from 'commander';

import { didYouMean } from '../engine/didYouMean.ts';
import { BACKEND_NAMES } from '../engine/index.ts';

/** Parsed flags as commander hands them to an action (camelCase names). */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** An error meant for the user: printed as one line, without a stack trace, and the command exits with BAD_INPUT. */
export class UsageError extends Error {}

/** Collects a repeatable flag's values in order (`--set a=1 --set b=2`). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A flag that may be given several times; its value is the list (absent when never given). */
export function repeatable(flags: string, description: string): Option {
  return new Option(flags, `${description} (repeatable)`).argParser(collect);
}

/** Checks a value against `valid`; commander words the refusal, this adds the valid values and a suggestion. */
function oneOf(valid: readonly string[]): (value: string) => string {
  return (value) => {
    if (!valid.includes(value)) throw new InvalidArgumentError(`valid: ${valid.join(', ')}${didYouMean(value, valid)}`);
    return value;
  };
}

/** An option whose value is one of `valid` (listed in the help); a misspelt value is refused with a suggestion. */
export function choiceOption(flags: string, description: string, valid: readonly string[]): Option {
  return new Option(flags, description).choices(valid).argParser(oneOf(valid));
}

/** A positional argument whose value is one of `valid`, as choiceOption. */
export function choiceArgument(name: string, description: string, valid: readonly string[]): Argument {
  return new Argument(name, description).choices(valid).argParser(oneOf(valid));
}

/** --backend, as every command that runs tfjs takes it. */
export function backendOption(): Option {
  return choiceOption('--backend <name>', 'tfjs backend; auto picks libtorch, then tensorflow, then cpu (env SQAKD_BACKEND)',
    ['auto', ...BACKEND_NAMES]);
}

/** --data-dir, as every command that reads datasets takes it. */
export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'folder holding the datasets (env SQAKD_DATA; default ./data)');
}

/** --threads, the intra-op threads of libtorch. */
export function threadsOption(what = 'intra-op threads of libtorch (env SQAKD_THREADS; default: every core)'): Option {
  return new Option('--threads <n>', what);
}

/** --allow-env-change, for commands that resume runs. */
export function allowEnvChangeOption(): Option {
  return new Option('--allow-env-change',
    'resume a run saved under another numeric environment (threads, backend, BLAS, CPU), recording the change');
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

/** A repeatable flag's values, empty when it was not given. */
export function listFlag(value: FlagValues[string]): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
}

/** Repeated `--flag key=value` pairs as numbers by key, or a UsageError naming the malformed one. */
export function keyValueNumbers(value: FlagValues[string], flag: string): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const pair of listFlag(value)) {
    const [key, raw, ...rest] = pair.split('=');
    const n = Number(raw);
    if (!key || raw === undefined || rest.length || raw.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError(`--${flag} takes key=number, got '${pair}'`);
    }
    out[key] = n;
  }
  return out;
}
