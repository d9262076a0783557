// Every dry run the README documents works as written on a checkout with only the shared data folder: a dry run
// reads no data, so a dataset folder that is missing is a warning, and the plan ends with its estimated hours.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

/** The README's shell lines that contain `--dry-run`, without their trailing comments. */
function documentedDryRuns(): string[] {
  const blocks = [...readFileSync('README.md', 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.split('\n')).filter((l) => l.includes('--dry-run')).map((l) => l.replace(/\s+#.*$/, '').trim());
}

describe('the README\'s dry runs', () => {
  const commands = documentedDryRuns();
  // Step speeds are measured once per machine and cached; this run keeps its cache to itself.
  const cache = mkdtempSync(join(tmpdir(), 'sqakd-speed-'));

  it('are documented', () => {
    expect(commands.length).toBeGreaterThanOrEqual(2);
  });

  it.each(commands)('%s', (command) => {
    const args = command.match(/^npm run matrix -- (.*)$/)?.[1];
    expect(args, `${command} is not an npm run matrix command`).toBeDefined();
    // `npm run matrix --` is `sqakd matrix`; the shell splits the rest as it would.
    const run = spawnSync('bash', ['-c', `${process.execPath} bin/sqakd.js matrix ${args}`], {
      encoding: 'utf8', env: { ...process.env, SQAKD_DATA: '../shared/data', SQAKD_CACHE: cache },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\d+ cells \(\d+ teacher\(s\), \d+ student\(s\)\) in .*; estimated [\d.]+ h in all, [\d.]+ h left/m);
    expect(run.stdout).toMatch(/^measured on this machine \(a W2A2 SQAKD step, batch 32\): \S+ \d+ img\/s/m);
    // CIFAR-100 is not in the shared data: named as what a real run would need, not refused.
    if (/cifar100/.test(run.stdout)) expect(run.stdout).toMatch(/^warning: cifar100 not found: .*; a real run needs it$/m);
  });
});
