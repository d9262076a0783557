// ReportCell fixtures for the report tests: a cell from the few fields a test cares about, the rest filled in.
import type { EpochPoint, ReportCell } from '../../reports/reportCell.ts';

/** A finished student (or teacher with `kind: 'teacher'`) with the given fields; `curve` defaults to a rise to top1. */
export function fixtureCell(fields: Partial<ReportCell> & { top1?: number | null }): ReportCell {
  const kind = fields.kind ?? 'student';
  const method = fields.method ?? (kind === 'teacher' ? 'teacher' : 'ce');
  const labelFree = fields.labelFree ?? method === 'sqakd';
  const bits = fields.bits ?? (kind === 'teacher' ? 'FP32' : 'W2A2');
  const m = /^W(\d+)A(\d+)$/.exec(bits);
  const top1 = fields.top1 === undefined ? 90 : fields.top1;
  const state = fields.state ?? 'finished';
  const epochs = fields.epochsPlanned ?? 4;
  const curve: EpochPoint[] = fields.curve ??
    (state === 'finished' && top1 !== null ? Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, top1: (top1 * (i + 1)) / epochs })) : []);
  const seed = fields.seed ?? 1;
  const dataset = fields.dataset ?? 'cifar10';
  const arch = fields.arch ?? 'resnet20';
  const quantizer = fields.quantizer ?? (kind === 'teacher' ? 'none' : 'ewgs');
  const variant = fields.variant ?? (kind === 'teacher' ? '-' : quantizer === 'ewgs' ? 'STE' : 'default');
  const lf = labelFree && method !== 'sqakd' ? '-lf' : '';
  return {
    id: fields.id ?? `${dataset}-${arch}-${quantizer}-${variant.replace(/\W+/g, '')}-${bits}-${method}${lf}-s${seed}`,
    kind, dataset, arch, quantizer, variant, bits,
    wBits: m ? Number(m[1]) : null, aBits: m ? Number(m[2]) : null, method, labelFree,
    label: fields.label ?? (labelFree && method !== 'sqakd' ? `${method} (label-free)` : method), seed,
    epochsPlanned: epochs, state,
    top1: state === 'finished' ? top1 : null, top1Best: state === 'finished' ? fields.top1Best ?? top1 : null,
    teacherTop1: state === 'finished' && kind === 'student' ? fields.teacherTop1 ?? 95 : null,
    imagesPerSecond: state === 'finished' ? fields.imagesPerSecond ?? 500 : null,
    wallSeconds: state === 'finished' ? fields.wallSeconds ?? 60 : null,
    backend: state === 'finished' ? fields.backend ?? 'libtorch' : null,
    curve, failure: fields.failure, problem: fields.problem, landscape: fields.landscape, result: fields.result,
  };
}
