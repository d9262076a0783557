// Which variant of a quantizer a cell ran, in a few words, for the reports: where the paper's text and its public
// code disagree (SPEC.md), the suite runs either, and every table must say which. EWGS with delta 0 is the
// straight-through estimator (the public code's runs); a fixed delta or the Hessian-trace delta is the EWGS paper's.
// PACT learns its clipping bound (the paper) or keeps it frozen (the public code's Tiny-ImageNet runs). Per-channel
// weights and a changed full-precision policy are the suite's extensions.
import type { QuantizationConfig } from '../runs/trainConfig.ts';

/** `STE`, `delta 0.001`, `Hessian delta`, `learned alpha`, ... joined with `, `; `default` when nothing varies; `-` for full precision. */
export function quantizerVariant(q: QuantizationConfig | null): string {
  if (!q) return '-';
  const parts: string[] = [];
  // Results of versions before these settings existed ran their defaults.
  const delta = q.ewgsDelta ?? 0;
  if (q.quantizer === 'ewgs') parts.push(delta === 'hessian' ? 'Hessian delta' : delta === 0 ? 'STE' : `delta ${delta}`);
  if (q.quantizer === 'pact') parts.push((q.pactTrainAlpha ?? true) ? 'learned alpha' : 'frozen alpha');
  if (q.perChannelWeights) parts.push('per-channel weights');
  if (q.fullPrecision) parts.push(`full precision: ${q.fullPrecision.length ? q.fullPrecision.join('+') : 'none'}`);
  return parts.length ? parts.join(', ') : 'default';
}
