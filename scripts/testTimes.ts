// Prints the slowest test files of the last `vitest run`, from the JSON report vitest.config.ts has vitest write:
// every change to the suite shows its cost (CI prints this after the tests).
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const REPORT = resolve(import.meta.dirname, '..', '.cache', 'vitest', 'report.json');

/** The part of vitest's JSON report read here. */
interface Report {
  testResults: Array<{ name: string; status: string; startTime: number; endTime: number }>;
}

/** The `count` slowest files of a vitest JSON report, as aligned lines (seconds, status, file), plus the total. */
function slowestFiles(report: Report, count: number, root: string): string[] {
  const files = report.testResults
    .map((t) => ({ seconds: (t.endTime - t.startTime) / 1000, status: t.status, file: relative(root, t.name) }))
    .sort((a, b) => b.seconds - a.seconds);
  const total = files.reduce((sum, f) => sum + f.seconds, 0);
  return [
    `The ${Math.min(count, files.length)} slowest of ${files.length} test files (all files: ${total.toFixed(0)} s):`,
    ...files.slice(0, count).map((f) => `${f.seconds.toFixed(1).padStart(8)} s  ${f.status.padEnd(7)} ${f.file}`),
  ];
}

const count = Number(process.argv[2] ?? 15);
if (!existsSync(REPORT)) {
  console.error(`test-times: no report at ${REPORT}; run the tests first (npm test or npm run test:quick)`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Report;
console.log(slowestFiles(report, count, resolve(import.meta.dirname, '..')).join('\n'));
