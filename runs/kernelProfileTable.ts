// The text table `bench step --profile` prints: one row per kernel, its milliseconds in each phase of the step,
// calls and megabytes allocated, then the totals and the share of the step spent outside kernels.
import type { KernelProfile } from '../engine/index.ts';

const fixed = (n: number, digits = 1) => n.toFixed(digits);

/** A kernel profile as aligned text lines, `limit` kernels at most (the rest summed in one row). */
export function kernelProfileTable(profile: KernelProfile, phases: readonly string[], limit = 30): string[] {
  const used = [...phases, 'other'].filter((phase) => profile.rows.some((row) => row.msByPhase[phase]));
  const header = ['kernel', ...used, 'total ms', 'share', 'calls', 'MiB'];
  const line = (kernel: string, byPhase: Record<string, number>, ms: number, calls: number, bytes: number) => [
    kernel, ...used.map((phase) => fixed(byPhase[phase] ?? 0)), fixed(ms),
    `${fixed(100 * ms / profile.wallMs)} %`, fixed(calls, calls % 1 ? 1 : 0), fixed(bytes / 2 ** 20),
  ];
  const shown = profile.rows.slice(0, limit);
  const rest = profile.rows.slice(limit);
  const sum = (rows: typeof profile.rows) => rows.reduce((acc, row) => {
    for (const [phase, ms] of Object.entries(row.msByPhase)) acc.byPhase[phase] = (acc.byPhase[phase] ?? 0) + ms;
    acc.ms += row.ms;
    acc.calls += row.calls;
    acc.bytes += row.bytes;
    return acc;
  }, { byPhase: {} as Record<string, number>, ms: 0, calls: 0, bytes: 0 });
  const body = shown.map((row) => line(row.kernel, row.msByPhase, row.ms, row.calls, row.bytes));
  if (rest.length) {
    const r = sum(rest);
    body.push(line(`(${rest.length} more)`, r.byPhase, r.ms, r.calls, r.bytes));
  }
  const all = sum(profile.rows);
  body.push(line('all kernels', all.byPhase, all.ms, all.calls, all.bytes));
  const rows = [header, ...body];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const text = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  return [
    `kernel profile per step: ${fixed(profile.wallMs)} ms wall, ${fixed(profile.kernelMs)} ms in kernels, ` +
    `${fixed(100 * profile.outsideShare)} % outside kernels (JavaScript, tfjs bookkeeping, tape, dispose)`,
    ...text,
  ];
}
