// The command line's front door: help derived from the parser (so a flag without help text fails here), one-line
// errors with suggestions, the documented exit codes, --version, and a closed pipe ending quietly.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { createProgram } from '../../scripts/program.ts';

function sqakd(args: string[]) {
  const run = spawnSync(process.execPath, ['bin/sqakd.js', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `sqakd ...` through a shell pipeline (`| head -1`), with the pipeline's status that of sqakd. */
function piped(args: string, into: string) {
  const run = spawnSync('bash', ['-c', `set -o pipefail; ${process.execPath} bin/sqakd.js ${args} | ${into}`], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Every command of the tree below `root`, with its path (`sqakd bench step`). */
function commands(root: Command, path = root.name()): Array<[string, Command]> {
  return [[path, root], ...root.commands.flatMap((c) => commands(c, `${path} ${c.name()}`))];
}

describe('help', () => {
  const all = commands(createProgram());

  it('describes every command and every flag, and lists each flag in the command\'s --help', () => {
    expect(all.map(([path]) => path)).toEqual(expect.arrayContaining(['sqakd train', 'sqakd matrix', 'sqakd bench step',
      'sqakd data check', 'sqakd eval', 'sqakd list']));
    for (const [path, command] of all) {
      expect(command.description(), path).not.toBe('');
      const help = command.helpInformation();
      for (const option of command.options) {
        expect(option.description.length, `${path} ${option.flags} has no help text`).toBeGreaterThan(10);
        // An internal flag (a landscape worker's share) is hidden on purpose; every other one is listed.
        if (option.hidden) expect(help).not.toContain(option.flags);
        else expect(help, `${path} --help lacks ${option.flags}`).toContain(option.flags);
      }
      for (const argument of command.registeredArguments) expect(argument.description, `${path} <${argument.name()}>`).not.toBe('');
    }
  });

  it('shows defaults and valid values where a flag has them', () => {
    // Help wraps to the terminal's width; compare it as one line.
    const help = (path: string) => all.find(([p]) => p === path)![1].helpInformation().replace(/\s+/g, ' ');
    expect(help('sqakd matrix')).toContain('--runs-dir <dir> the run store (default: "runs")');
    expect(help('sqakd matrix')).toContain('--preset <name> a built-in matrix (choices: "smoke", "mnist", "table4-cifar10"');
    expect(help('sqakd train')).toContain('(choices: "none", "ewgs", "pact", "lsq", "dorefa", "lsq-paper")');
    expect(help('sqakd bench step')).toContain('--batch <n> images per step (default: "256")');
  });

  it('prints the same help for `sqakd <command> --help` and `sqakd help <command>`, exit 0', () => {
    const flag = sqakd(['train', '--help']);
    const word = sqakd(['help', 'train']);
    expect(flag.status).toBe(0);
    expect(word.status).toBe(0);
    expect(flag.stdout).toMatch(/^Usage: sqakd train \[options\]/);
    expect(word.stdout).toBe(flag.stdout);
    const step = sqakd(['bench', 'step', '--help']);
    expect(step.stdout).toMatch(/^Usage: sqakd bench step \[options\][\s\S]*--no-reference/);
    expect(sqakd(['bench', 'help', 'step']).stdout).toBe(step.stdout);
  });
});

describe('errors', () => {
  it('refuses a misspelt command or flag in one line with a suggestion, exit 2', () => {
    const command = sqakd(['trian']);
    expect(command.status).toBe(2);
    expect(command.stderr.trim()).toBe("sqakd: unknown command 'trian' (did you mean train?)");
    const flag = sqakd(['train', '--batchsize', '8', '--out', 'x']);
    expect(flag.status).toBe(2);
    expect(flag.stderr.trim()).toBe("sqakd train: unknown option '--batchsize' (did you mean --batch-size?)");
  });

  it('suggests the valid value a misspelt choice meant', () => {
    const preset = sqakd(['matrix', '--preset', 'smok', '--dry-run']);
    expect(preset.status).toBe(2);
    expect(preset.stderr.trim().split('\n')).toHaveLength(1);
    expect(preset.stderr).toMatch(/^sqakd matrix: option '--preset <name>' argument 'smok' is invalid\. valid: smoke, mnist, .* \(did you mean 'smoke'\?\)/);
    expect(sqakd(['list', 'method']).stderr).toMatch(/valid: archs, recipes, quantizers, methods \(did you mean 'methods'\?\)/);
  });

  it('suggests the method a misspelt method name meant', () => {
    const run = sqakd(['train', '--dataset', 'mnist', '--arch', 'cnn-small', '--method', 'sqkad', '--out', 'never-written']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^sqakd: unknown method 'sqkad' \(.*did you mean 'sqakd'\?/);
  });

  it('exits 2 on a bad value, naming the flag', () => {
    const value = sqakd(['bench', 'engine', '--batch', '0']);
    expect(value.status).toBe(2);
    expect(value.stderr.trim()).toBe("sqakd: --batch must be a positive integer, got '0'");
  });
});

describe('version and pipes', () => {
  it('prints the package version, the git commit, tfjs and libtorch', () => {
    const run = sqakd(['--version']);
    expect(run.status).toBe(0);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe(`sqakd-bench ${pkg.version}`);
    expect(lines[1]).toMatch(/^git: ([0-9a-f]{40}( \(uncommitted changes\))?|not a git checkout)$/);
    expect(lines[2]).toMatch(/^tfjs: 4\.\d+\.\d+$/);
    expect(lines[3]).toMatch(/^libtorch: (\d+\.\d+\.\d+|not available \(.+\))$/);
  });

  it('ends quietly when the reader closes the pipe', () => {
    const head = piped('list methods', 'head -1');
    expect(head.status).toBe(0);
    expect(head.stdout).toMatch(/^ce\s+cross-entropy/);
    expect(head.stderr).toBe('');
    // A reader that is gone before the first write: every write meets a closed pipe.
    const gone = piped('methods', 'true');
    expect(gone.status).toBe(0);
    expect(gone.stderr).toBe('');
  });
});
