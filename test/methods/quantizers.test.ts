// The four quantizer families (EWGS/STE, PACT, LSQ in PyTorch's and the LSQ paper's form, DoReFa) and the
// Hessian-trace delta, against SPEC section 2's formulas worked out here in plain JS (double precision): forward
// values and the gradients of sum(Q(x) * r) with respect to the input and every learnable parameter, for 1, 2, 4 and
// 8 bits, weights and activations, per tensor and per channel; LSQ's two forms where they differ (x/s within 0.5
// outside the range); the calibration rules (sample std); the bit-width and registry errors.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../../engine/index.ts';
import { DorefaQuantizer } from '../../methods/quantizers/dorefa.ts';
import { EwgsQuantizer } from '../../methods/quantizers/ewgs.ts';
import { updateEwgsDeltas } from '../../methods/quantizers/hessianDelta.ts';
import { type LsqForm, LsqQuantizer } from '../../methods/quantizers/lsq.ts';
import { PactQuantizer } from '../../methods/quantizers/pact.ts';
import type { Quantizer, QuantizerRole } from '../../methods/quantizers/quantizer.ts';
import { QUANTIZERS, quantizerFamily } from '../../methods/quantizers/registry.ts';
import { Module } from '../../models/nn/module.ts';
import { seededNormal } from '../support/random.ts';

beforeAll(async () => {
  await initBackend('libtorch');
});

const created: Module[] = [];
/** Quantizers made by a test, disposed after it. */
function track<M extends Module>(m: M): M {
  created.push(m);
  return m;
}
afterEach(() => {
  for (const m of created.splice(0)) m.dispose();
});

const BITS = [1, 2, 4, 8];
const f32 = Math.fround;

// ---- Plain-JS helpers ----

/**
 * Round half to even (PyTorch's and tfjs's round). Refuses values within 1e-4 of a tie: there a float32 and a
 * double computation could round differently, and the test's inputs must be chosen away from them.
 */
function round(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (Math.abs(frac - 0.5) < 1e-4) throw new Error(`test input gives ${v}, too close to a rounding tie`);
  return frac < 0.5 ? floor : floor + 1;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
const mean = (a: number[]) => sum(a) / a.length;
/** Sample standard deviation (divisor n - 1, PyTorch's torch.std, SPEC section 2). */
const std = (a: number[]) => Math.sqrt(sum(a.map((v) => (v - mean(a)) ** 2)) / (a.length - 1));
/** Population standard deviation (divisor n), to show the calibrations are not it. */
const populationStd = (a: number[]) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-5) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

interface Evaluated {
  y: number[];
  dx: number[];
  /** Gradients with respect to `params`, in order. */
  dp: number[][];
}

/** Q(x), and the gradients of sum(Q(x) * r) with respect to x and the given parameters. */
function evaluate(q: Quantizer, xValues: number[], shape: number[], rValues: number[], params: tf.Variable[]): Evaluated {
  const x = tf.variable(tf.tensor(xValues, shape), true);
  const r = tf.tensor(rValues, shape);
  const y = tf.tidy(() => q.forward(x));
  const { value, grads } = tf.variableGrads(() => q.forward(x).mul(r).sum() as tf.Scalar, [x, ...params]);
  const out = {
    y: Array.from(y.dataSync()),
    dx: Array.from(grads[x.name].dataSync()),
    dp: params.map((p) => Array.from(grads[p.name].dataSync())),
  };
  tf.dispose([x, r, y, value, ...Object.values(grads)]);
  return out;
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

// ---- EWGS / STE ----

interface EwgsReference {
  y: number[];
  dx: number[];
  dl: number[];
  du: number[];
}

/**
 * SPEC section 2 by hand, per element (channel c = i mod C for per-channel bounds):
 *   t = (x - l) / (u - l), n = clamp(t, 0, 1), q = round(n (L - 1)) / (L - 1), y = q or 2 (q - 0.5) for weights.
 *   g = dL/dq = r (activations) or 2 r (weights, through y = 2 q - 1).
 *   EWGS: dL/dn = g + delta |g| (n - q); the clamp passes it where 0 <= t <= 1 (inclusive), so there
 *   dL/dx = dL/dn / (u - l), dL/dl = dL/dn * dt/dl = dL/dn * (t - 1) / (u - l), dL/du = dL/dn * (-t) / (u - l)
 *   (from t = (x - l) / (u - l): dt/dl = (-(u - l) + (x - l)) / (u - l)^2 = (t - 1) / (u - l), dt/du = -t / (u - l)).
 */
function ewgsReference(x: number[], lower: number[], upper: number[], bits: number, role: QuantizerRole,
  r: number[], delta: number): EwgsReference {
  const steps = 2 ** bits - 1;
  const channels = lower.length;
  const out: EwgsReference = { y: [], dx: [], dl: new Array(channels).fill(0), du: new Array(channels).fill(0) };
  x.forEach((xi, i) => {
    const c = i % channels;
    const [l, u] = [f32(lower[c]), f32(upper[c])];
    const range = u - l;
    const t = (f32(xi) - l) / range;
    const n = clamp(t, 0, 1);
    const q = round(n * steps) / steps;
    out.y.push(role === 'weight' ? 2 * (q - 0.5) : q);
    const g = role === 'weight' ? 2 * r[i] : r[i];
    const gn = g + delta * Math.abs(g) * (n - q);
    const inside = t >= 0 && t <= 1;
    out.dx.push(inside ? gn / range : 0);
    if (inside) {
      out.dl[c] += (gn * (t - 1)) / range;
      out.du[c] += (gn * -t) / range;
    }
  });
  return out;
}

function ewgs(bits: number, role: QuantizerRole, lower: number[], upper: number[], delta = 0): EwgsQuantizer {
  const channels = lower.length > 1 ? lower.length : undefined;
  const q = track(new EwgsQuantizer({ bits, role, channels, delta }));
  const shape = channels ? [channels] : [];
  q.lower.assign(tf.tensor(channels ? lower : lower[0], shape));
  q.upper.assign(tf.tensor(channels ? upper : upper[0], shape));
  return q;
}

describe('EWGS quantizer', () => {
  // Weights with l = -0.8, u = 1.2 (u - l = 2), including both bounds exactly.
  const xw = [-1.5, -0.8, -0.5, -0.1, 0.3, 0.55, 0.9, 1.2, 1.7];
  const rw = [0.5, -1, 2, 1, -0.5, 1.5, -2, 0.25, 3];

  it('2-bit weights: values and STE gradients worked out by hand', () => {
    // t = (x + 0.8) / 2 = [-.35, 0, .15, .35, .55, .675, .85, 1, 1.25]; n = clamp = [0, 0, .15, .35, .55, .675, .85, 1, 1]
    // n * 3 = [0, 0, .45, 1.05, 1.65, 2.025, 2.55, 3, 3] -> round [0, 0, 0, 1, 2, 2, 3, 3, 3]
    // q = [0, 0, 0, 1/3, 2/3, 2/3, 1, 1, 1]; y = 2 (q - 0.5) = [-1, -1, -1, -1/3, 1/3, 1/3, 1, 1, 1]
    const y = [-1, -1, -1, -1 / 3, 1 / 3, 1 / 3, 1, 1, 1];
    // g = 2 r = [1, -2, 4, 2, -1, 3, -4, .5, 6]; inside [l, u] (t in [0, 1], bounds inclusive): elements 1..7.
    // dx = g / 2 inside, 0 outside:
    const dx = [0, -1, 2, 1, -0.5, 1.5, -2, 0.25, 0];
    // dl = sum_inside g (t - 1) / 2 = (-2)(-1)/2 + 4(-.85)/2 + 2(-.65)/2 + (-1)(-.45)/2 + 3(-.325)/2 + (-4)(-.15)/2 + .5(0)/2
    //    = 1 - 1.7 - .65 + .225 - .4875 + .3 + 0 = -1.3125
    // du = sum_inside g (-t) / 2 = 0 - .3 - .35 + .275 - 1.0125 + 1.7 - .25 = .0625
    const q = ewgs(2, 'weight', [-0.8], [1.2]);
    const got = evaluate(q, xw, [xw.length], rw, [q.lower, q.upper]);
    expectClose(got.y, y, 'y');
    expectClose(got.dx, dx, 'dx');
    expectClose(got.dp[0], [-1.3125], 'dl');
    expectClose(got.dp[1], [0.0625], 'du');
    // The reference function gives the same numbers.
    const ref = ewgsReference(xw, [-0.8], [1.2], 2, 'weight', rw, 0);
    expectClose(ref.y, y, 'reference y', 1e-12);
    expectClose(ref.dl, [-1.3125], 'reference dl', 1e-12);
    expectClose(ref.du, [0.0625], 'reference du', 1e-12);
  });

  it('2-bit weights with delta 0.5: the EWGS backward g + delta |g| (x_n - x_q)', () => {
    // dL/dn = g + .5 |g| (n - q) on the inside elements 1..7:
    //   1: n = 0, q = 0 -> -2;  2: n = .15, q = 0 -> 4 + .5*4*.15 = 4.3;  3: n = .35, q = 1/3 -> 2 + .5*2*(1/60) = 2.016667
    //   4: n = .55, q = 2/3 -> -1 + .5*1*(-7/60) = -1.058333;  5: n = .675, q = 2/3 -> 3 + .5*3*(1/120) = 3.0125
    //   6: n = .85, q = 1 -> -4 + .5*4*(-.15) = -4.3;  7: n = 1, q = 1 -> .5
    // dx = dL/dn / 2:
    const dx = [0, -1, 2.15, 1.0083333, -0.5291667, 1.50625, -2.15, 0.25, 0];
    const q = ewgs(2, 'weight', [-0.8], [1.2], 0.5);
    const got = evaluate(q, xw, [xw.length], rw, [q.lower, q.upper]);
    expectClose(got.dx, dx, 'dx');
    const ref = ewgsReference(xw, [-0.8], [1.2], 2, 'weight', rw, 0.5);
    expectClose(ref.dx, dx, 'reference dx', 1e-6);
    expectClose(got.dp[0], ref.dl, 'dl');
    expectClose(got.dp[1], ref.du, 'du');
    // Forward values do not depend on delta.
    expectClose(got.y, ewgsReference(xw, [-0.8], [1.2], 2, 'weight', rw, 0).y, 'y');
  });

  const xa = [-0.9, -0.3, 0.02, 0.21, 0.37, 0.64, 0.88, 1.13, 1.33, 1.7, 2.4];
  const ra = [1.5, -0.7, 0.4, 2, -1.2, 0.9, 0.3, -2.2, 1.1, 0.6, -0.8];
  const la = -0.3;
  const ua = 1.7;

  for (const role of ['weight', 'activation'] as const) {
    const [x, r, l, u] = role === 'weight' ? [xw, rw, -0.8, 1.2] : [xa, ra, la, ua];
    for (const bits of BITS) {
      for (const delta of [0, 0.3]) {
        it(`${role}s, ${bits} bits, delta ${delta}: values and gradients for x, l and u`, () => {
          const q = ewgs(bits, role, [l], [u], delta);
          const got = evaluate(q, x, [x.length], r, [q.lower, q.upper]);
          const ref = ewgsReference(x, [l], [u], bits, role, r, delta);
          expectClose(got.y, ref.y, 'y');
          if (role === 'weight') expect(got.y.every((v) => v >= -1 && v <= 1)).toBe(true);
          else expect(got.y.every((v) => v >= 0 && v <= 1)).toBe(true);
          // 2^b levels: the distinct outputs are k / (L - 1) (or 2 k / (L - 1) - 1).
          for (const v of got.y) {
            const k = (role === 'weight' ? (v + 1) / 2 : v) * (2 ** bits - 1);
            expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-4);
          }
          expectClose(got.dx, ref.dx, 'dx');
          expectClose(got.dp[0], ref.dl, 'dl');
          expectClose(got.dp[1], ref.du, 'du');
        });
      }
    }
  }

  it('delta 0 is exactly the straight-through estimator; delta set after construction reaches the backward', () => {
    // STE: dL/dx = g / (u - l) inside, 0 outside (activations: g = r).
    const ste = xa.map((v, i) => (v >= la && v <= ua ? ra[i] / (ua - la) : 0));
    const q = ewgs(4, 'activation', [la], [ua]);
    expectClose(evaluate(q, xa, [xa.length], ra, []).dx, ste, 'delta 0 dx');
    q.delta = 0.7;
    const ref = ewgsReference(xa, [la], [ua], 4, 'activation', ra, 0.7);
    const got = evaluate(q, xa, [xa.length], ra, [q.lower, q.upper]);
    expectClose(got.dx, ref.dx, 'delta .7 dx');
    expect(got.dx.some((v, i) => Math.abs(v - ste[i]) > 1e-4)).toBe(true);
  });

  it('per-channel weights: one l and u per output channel ([-1, C] view), [C]-shaped gradients', () => {
    // A [2, 2, 1, 3] weight viewed as [4, 3]: element i belongs to channel i mod 3.
    const x = [-1.2, 0.3, 0.05, 0.42, -0.61, 0.7, 0.93, 0.12, -0.33, -0.27, 0.55, 0.44];
    const r = [0.3, -1, 2, 1.1, 0.4, -0.6, 1.5, -0.2, 0.8, -1.3, 0.9, 0.5];
    const lower = [-1, -0.5, -0.2];
    const upper = [1, 0.5, 0.6];
    for (const bits of [1, 2, 4]) {
      const q = ewgs(bits, 'weight', lower, upper);
      const got = evaluate(q, x, [2, 2, 1, 3], r, [q.lower, q.upper]);
      const ref = ewgsReference(x, lower, upper, bits, 'weight', r, 0);
      expectClose(got.y, ref.y, `${bits}-bit y`);
      expectClose(got.dx, ref.dx, `${bits}-bit dx`);
      expect(q.lower.shape).toEqual([3]);
      expectClose(got.dp[0], ref.dl, `${bits}-bit dl`);
      expectClose(got.dp[1], ref.du, `${bits}-bit du`);
    }
  });

  it('calibration: weights u = 3 std(w), l = -u; activations u = 3 std(x) / sqrt(1 - 2/pi), l = min(x) (sample std)', () => {
    const w = [-0.31, 0.12, 0.05, -0.08, 0.22, -0.17, 0.4, 0.01, -0.26, 0.09];
    // sample std: the root of the squared deviations' sum over n - 1 (PyTorch's default), 5% above the population
    // std of these 10 values (sqrt(10 / 9)), far beyond the tolerance
    const sw = std(w);
    expect(sw / populationStd(w)).toBeCloseTo(Math.sqrt(10 / 9), 12);
    const qw = track(new EwgsQuantizer({ bits: 2, role: 'weight' }));
    qw.calibrate(tf.tensor1d(w));
    expectClose(values(qw.upper), [3 * sw], 'weight u');
    expectClose(values(qw.lower), [-3 * sw], 'weight l');

    const a = [0, 0, 0.3, 1.2, 0.05, 0, 2.7, 0.8, 0.44, 1.9, -0.2, 0.6];
    const qa = track(new EwgsQuantizer({ bits: 2, role: 'activation' }));
    qa.calibrate(tf.tensor(a, [2, 2, 3]));
    expectClose(values(qa.upper), [(3 * std(a)) / Math.sqrt(1 - 2 / Math.PI)], 'activation u');
    expectClose(values(qa.lower), [-0.2], 'activation l = min');

    // Per channel: the sample std of each column of the [4, 3] view (divisor 3, not 12 - 1 or 4).
    const wc = [-1.2, 0.3, 0.05, 0.42, -0.61, 0.7, 0.93, 0.12, -0.33, -0.27, 0.55, 0.44];
    const qc = track(new EwgsQuantizer({ bits: 2, role: 'weight', channels: 3 }));
    qc.calibrate(tf.tensor(wc, [2, 2, 1, 3]));
    const columns = [0, 1, 2].map((c) => wc.filter((_, i) => i % 3 === c));
    expectClose(values(qc.upper), columns.map((col) => 3 * std(col)), 'per-channel u');
    expectClose(values(qc.lower), columns.map((col) => -3 * std(col)), 'per-channel l');
    // The population std (what the calibration used before) is visibly not it: 13% lower for 4 values.
    for (const [got, col] of values(qc.upper).map((u, c) => [u, columns[c]] as const)) {
      expect(Math.abs(got - 3 * populationStd(col))).toBeGreaterThan(0.1 * got);
    }
  });
});

// ---- PACT ----

describe('PACT quantizer', () => {
  const x = [-1, 0, 0.3, 0.77, 1.1, 1.45, 1.9, 2, 2.5, 4];
  const r = [0.7, -1.1, 0.4, 2, -0.5, 1.3, 0.9, -0.6, 1.7, 0.25];
  const alpha = 2;

  /** y = round(clamp(x, 0, a) / a (L - 1)) / (L - 1) a; dx = r on 0 <= x < a; da = sum of r where x >= a. */
  function reference(bits: number) {
    const steps = 2 ** bits - 1;
    return {
      y: x.map((v) => (round((clamp(v, 0, alpha) / alpha) * steps) / steps) * alpha),
      dx: x.map((v, i) => (v >= 0 && v < alpha ? r[i] : 0)),
      da: sum(x.map((v, i) => (v >= alpha ? r[i] : 0))),
    };
  }

  function pact(bits: number, trainAlpha = true): PactQuantizer {
    const q = track(new PactQuantizer({ bits, role: 'activation', trainAlpha }));
    q.alpha.assign(tf.scalar(alpha));
    return q;
  }

  it('2 bits, worked out by hand', () => {
    // clamp(x, 0, 2) / 2 * 3 = [0, 0, .45, 1.155, 1.65, 2.175, 2.85, 3, 3, 3] -> round [0, 0, 0, 1, 2, 2, 3, 3, 3, 3]
    // y = k / 3 * 2 = [0, 0, 0, 2/3, 4/3, 4/3, 2, 2, 2, 2]
    // dx: r where 0 <= x < 2 (elements 1..6) = [0, -1.1, .4, 2, -.5, 1.3, .9, 0, 0, 0]
    // dalpha: sum of r where x >= 2 (elements 7..9) = -.6 + 1.7 + .25 = 1.35
    const q = pact(2);
    const got = evaluate(q, x, [x.length], r, [q.alpha]);
    expectClose(got.y, [0, 0, 0, 2 / 3, 4 / 3, 4 / 3, 2, 2, 2, 2], 'y');
    expectClose(got.dx, [0, -1.1, 0.4, 2, -0.5, 1.3, 0.9, 0, 0, 0], 'dx');
    expectClose(got.dp[0], [1.35], 'dalpha');
    const ref = reference(2);
    expectClose(ref.y, got.y, 'reference y');
    expect(ref.da).toBeCloseTo(1.35, 12);
  });

  for (const bits of BITS) {
    it(`${bits} bits: values, dL/dx and the PACT dL/dalpha`, () => {
      const q = pact(bits);
      const got = evaluate(q, x, [2, 5], r, [q.alpha]);
      const ref = reference(bits);
      expectClose(got.y, ref.y, 'y');
      expectClose(got.dx, ref.dx, 'dx');
      expectClose(got.dp[0], [ref.da], 'dalpha');
    });
  }

  it('frozen alpha (trainAlpha false) is a buffer, not a parameter; values are the same', () => {
    const trained = pact(4);
    const frozen = pact(4, false);
    expect(trained.namedParameters().map((p) => [p.name, p.group])).toEqual([['alpha', 'quantizer']]);
    expect(frozen.namedParameters()).toEqual([]);
    expect(frozen.parameters()).toEqual([]);
    expect(frozen.namedBuffers().map(([name]) => name)).toEqual(['alpha']);
    expect(frozen.alpha.trainable).toBe(false);
    const got = evaluate(frozen, x, [x.length], r, []);
    expectClose(got.y, reference(4).y, 'frozen y');
    expectClose(got.dx, reference(4).dx, 'frozen dx');
  });

  it('calibration sets alpha = 3 std(x) / sqrt(1 - 2/pi) (sample std); weights are refused', () => {
    const q = track(new PactQuantizer({ bits: 4, role: 'activation' }));
    q.calibrate(tf.tensor1d(x));
    expectClose(values(q.alpha), [(3 * std(x)) / Math.sqrt(1 - 2 / Math.PI)], 'alpha');
    expect(() => new PactQuantizer({ bits: 4, role: 'weight' })).toThrow(/PACT quantizes activations/);
  });
});

// ---- LSQ ----

describe('LSQ quantizer', () => {
  const x = [-1.9, -1.1, -0.62, -0.3, -0.05, 0.12, 0.4, 0.77, 1.3, 2.2];
  const r = [0.6, -1.4, 0.8, 1.1, -0.3, 2.1, -0.9, 0.45, 1.7, -0.65];

  /** Weights (signed): Qn = 2^(b-1), Qp = 2^(b-1) - 1; activations (unsigned): Qn = 0, Qp = 2^b - 1. */
  const bounds = (role: QuantizerRole, bits: number) =>
    role === 'weight' ? { qn: 2 ** (bits - 1), qp: 2 ** (bits - 1) - 1 } : { qn: 0, qp: 2 ** bits - 1 };

  /**
   * Whether v is inside the range for the backward: -Qn <= round(v) <= Qp in PyTorch's form (the default), -Qn <=
   * v <= Qp in the LSQ paper's. round() refuses ties, so a test input never sits where float32 and double differ.
   */
  function inRange(v: number, qn: number, qp: number, form: LsqForm): boolean {
    if (form === 'paper' || v < -qn - 1 || v > qp + 1) return v >= -qn && v <= qp;
    const level = round(v);
    return level >= -qn && level <= qp;
  }

  /**
   * v = x / s; x_q = clamp(round(v), -Qn, Qp) s. Inside the range (inRange): dx = r, dx_q/ds = round(v) - v;
   * outside: dx = 0, dx_q/ds = -Qn or Qp. ds = sum(r dx_q/ds) / sqrt(numel Qp) (per channel: numel of the channel).
   */
  function reference(xs: number[], rs: number[], steps: number[], qn: number, qp: number, form: LsqForm = 'pytorch') {
    const channels = steps.length;
    const numel = xs.length / channels;
    const ds = new Array(channels).fill(0);
    const y: number[] = [];
    const dx: number[] = [];
    xs.forEach((xi, i) => {
      const c = i % channels;
      const s = f32(steps[c]);
      const v = f32(xi) / s;
      const level = v < -qn ? -qn : v > qp ? qp : round(v);
      const inside = inRange(v, qn, qp, form);
      y.push(level * s);
      dx.push(inside ? rs[i] : 0);
      ds[c] += rs[i] * (inside ? round(v) - v : v < 0 ? -qn : qp);
    });
    return { y, dx, ds: ds.map((d) => d / Math.sqrt(numel * qp)) };
  }

  function lsq(bits: number, role: QuantizerRole, step: number[], channels?: number, form?: LsqForm): LsqQuantizer {
    const q = track(new LsqQuantizer({ bits, role, channels, form }));
    q.step.assign(channels ? tf.tensor1d(step) : tf.scalar(step[0]));
    return q;
  }

  it('2-bit weights, worked out by hand, in both forms', () => {
    // Qn = 2, Qp = 1, s = 0.5: v = x / .5 = [-3.8, -2.2, -1.24, -.6, -.1, .24, .8, 1.54, 2.6, 4.4]
    // clamp(round(v)): levels [-2, -2, -1, -1, 0, 0, 1, 1, 1, 1]; y = levels * .5 (the same in both forms)
    const y = [-1, -1, -0.5, -0.5, 0, 0, 0.5, 0.5, 0.5, 0.5];
    // LSQ paper: inside -2 <= v <= 1: elements 2..6; outside: -2, -2 (left), 1, 1, 1 (right).
    // dx_q/ds: outside -2, -2, 1, 1, 1; inside round(v) - v = [-1 + 1.24, -1 + .6, 0 + .1, 0 - .24, 1 - .8]
    //        = [-2, -2, .24, -.4, .1, -.24, .2, 1, 1, 1]
    // sum r * that = -1.2 + 2.8 + .192 - .44 - .03 - .504 - .18 + .45 + 1.7 - .65 = 2.138
    // scaled by 1 / sqrt(numel Qp) = 1 / sqrt(10): 2.138 / 3.16227766 = 0.676097
    const paper = lsq(2, 'weight', [0.5], undefined, 'paper');
    const got = evaluate(paper, x, [x.length], r, [paper.step]);
    expectClose(got.y, y, 'paper y');
    expectClose(got.dx, [0, 0, 0.8, 1.1, -0.3, 2.1, -0.9, 0, 0, 0], 'paper dx');
    expectClose(got.dp[0], [2.138 / Math.sqrt(10)], 'paper ds');
    expectClose(reference(x, r, [0.5], 2, 1, 'paper').ds, [2.138 / Math.sqrt(10)], 'paper reference ds', 1e-12);
    // PyTorch (the default): inside -2 <= round(v) <= 1 also takes element 1 (round(-2.2) = -2), whose dL/dx now
    // passes (-1.4) and whose dx_q/ds becomes round(v) - v = -2 + 2.2 = .2 instead of -2: ds = 2.138 - (-1.4)(-2)
    // + (-1.4)(.2) = 2.138 - 2.8 - .28 = -.942. Element 7 (1.54) rounds to 2, outside in both forms.
    const pytorch = lsq(2, 'weight', [0.5]);
    expect(pytorch.form).toBe('pytorch');
    const gotPytorch = evaluate(pytorch, x, [x.length], r, [pytorch.step]);
    expectClose(gotPytorch.y, y, 'pytorch y');
    expectClose(gotPytorch.dx, [0, -1.4, 0.8, 1.1, -0.3, 2.1, -0.9, 0, 0, 0], 'pytorch dx');
    expectClose(gotPytorch.dp[0], [-0.942 / Math.sqrt(10)], 'pytorch ds');
    expectClose(reference(x, r, [0.5], 2, 1).ds, [-0.942 / Math.sqrt(10)], 'pytorch reference ds', 1e-12);
  });

  it('the forms differ exactly where x/s lies within 0.5 outside [-Qn, Qp]: equal values, different gradients', () => {
    // 2-bit activations (Qn = 0, Qp = 3) and 3-bit weights (Qn = 4, Qp = 3), s = 0.5. Per role: v = x / s just
    // inside each bound, within 0.5 outside it (round(v) is the bound: PyTorch's range, not the paper's), and
    // beyond 0.5 outside (both forms outside).
    const cases = [
      { role: 'activation' as const, bits: 2, v: [0.2, -0.3, -0.45, -0.7, 2.8, 3.3, 3.45, 3.7] },
      { role: 'weight' as const, bits: 3, v: [-3.8, -4.3, -4.45, -4.7, 2.8, 3.3, 3.45, 3.7] },
    ];
    const s = 0.5;
    for (const { role, bits, v } of cases) {
      const { qn, qp } = bounds(role, bits);
      const xs = v.map((vi) => vi * s);
      const rs = v.map((_, i) => 0.5 + 0.25 * i);
      const within = v.map((vi) => (vi < -qn && vi > -qn - 0.5) || (vi > qp && vi < qp + 0.5));
      expect(within).toEqual([false, true, true, false, false, true, true, false]);
      const [pytorch, paper] = (['pytorch', 'paper'] as const).map((form) => {
        const q = lsq(bits, role, [s], undefined, form);
        const got = evaluate(q, xs, [xs.length], rs, [q.step]);
        const ref = reference(xs, rs, [s], qn, qp, form);
        expectClose(got.y, ref.y, `${role} ${form} y`);
        expectClose(got.dx, ref.dx, `${role} ${form} dx`);
        expectClose(got.dp[0], ref.ds, `${role} ${form} ds`);
        return got;
      });
      expectClose(pytorch.y, paper.y, `${role}: the forward is the same`);
      // dL/dx: PyTorch passes r at the within-0.5 elements, the paper blocks it; equal elsewhere.
      v.forEach((_, i) => {
        if (within[i]) {
          expect(pytorch.dx[i], `${role} dx[${i}]`).toBeCloseTo(rs[i], 6);
          expect(paper.dx[i], `${role} dx[${i}]`).toBe(0);
        } else {
          expect(pytorch.dx[i], `${role} dx[${i}]`).toBe(paper.dx[i]);
        }
      });
      // dL/ds: at those elements PyTorch's term is round(v) - v = bound - v, the paper's the bound itself, so the
      // two differ by -r v there.
      const difference = v.reduce((acc, vi, i) => (within[i] ? acc - rs[i] * vi : acc), 0) / Math.sqrt(xs.length * qp);
      expectClose([pytorch.dp[0][0] - paper.dp[0][0]], [difference], `${role}: ds(pytorch) - ds(paper)`);
      expect(Math.abs(difference)).toBeGreaterThan(0.1);
    }
  });

  for (const form of ['pytorch', 'paper'] as const) {
    for (const role of ['weight', 'activation'] as const) {
      for (const bits of BITS) {
        if (role === 'weight' && bits === 1) continue; // the binary case has its own test
        it(`${form} form, ${role}s, ${bits} bits: values, dL/dx and the scaled dL/ds`, () => {
          const { qn, qp } = bounds(role, bits);
          // A step that leaves the largest inputs outside the range (1.45 / Qp: 2.2 clips), with no v = x / s at a
          // rounding tie near a bound.
          const step = 1.45 / qp;
          const q = lsq(bits, role, [step], undefined, form);
          const got = evaluate(q, x, [2, 5], r, [q.step]);
          const ref = reference(x, r, [step], qn, qp, form);
          expectClose(got.y, ref.y, 'y');
          expectClose(got.dx, ref.dx, 'dx');
          expectClose(got.dp[0], ref.ds, 'ds');
          // Values are integer multiples of s within [-Qn s, Qp s].
          for (const v of got.y) {
            expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-4);
            expect(v / step).toBeGreaterThanOrEqual(-qn - 1e-4);
            expect(v / step).toBeLessThanOrEqual(qp + 1e-4);
          }
        });
      }
    }
  }

  it('1-bit weights use {-s, +s} (Qn = Qp = 1, sign instead of round, sign(0) = +1), alike in both forms', () => {
    // s = .9: v = x / .9 = [-2.11, -1.22, -.689, -.333, -.0556, .133, .444, .856, 1.44, 2.44]
    // y = sign(v) s; dx = r where |v| <= 1 (elements 2..7); dx_q/ds = sign(v) everywhere;
    // ds = sum(r sign(v)) / sqrt(numel * 1) = (-.6 + 1.4 - .8 - 1.1 + .3 + 2.1 - .9 + .45 + 1.7 - .65) / sqrt(10) = 1.9 / sqrt(10)
    const s = 0.9;
    const q = lsq(1, 'weight', [s]);
    const got = evaluate(q, x, [x.length], r, [q.step]);
    expectClose(got.y, x.map((v) => (v >= 0 ? s : -s)), 'y');
    expectClose(got.dx, x.map((v, i) => (Math.abs(v / s) <= 1 ? r[i] : 0)), 'dx');
    expectClose(got.dp[0], [1.9 / Math.sqrt(10)], 'ds');
    const zero = evaluate(q, [0, -0.3], [2], [1, 1], [q.step]);
    expectClose(zero.y, [s, -s], 'sign(0) = +1');
    const paper = lsq(1, 'weight', [s], undefined, 'paper');
    const gotPaper = evaluate(paper, x, [x.length], r, [paper.step]);
    expect(gotPaper).toEqual(got);
  });

  it('per-channel weights: one step per output channel, gradient scale from the channel numel', () => {
    // [4, 3] view: element i in channel i mod 3; 4 values per channel.
    const xc = [-0.9, 0.3, 0.05, 0.42, -0.61, 0.7, 0.93, 0.12, -0.33, -0.27, 0.55, 0.44];
    const rc = [0.3, -1, 2, 1.1, 0.4, -0.6, 1.5, -0.2, 0.8, -1.3, 0.9, 0.5];
    const steps = [0.3, 0.15, 0.07];
    for (const form of ['pytorch', 'paper'] as const) {
      const q = lsq(4, 'weight', steps, 3, form);
      const got = evaluate(q, xc, [2, 2, 1, 3], rc, [q.step]);
      const ref = reference(xc, rc, steps, 8, 7, form);
      expectClose(got.y, ref.y, `${form} y`);
      expectClose(got.dx, ref.dx, `${form} dx`);
      expect(q.step.shape).toEqual([3]);
      expectClose(got.dp[0], ref.ds, `${form} ds`);
    }
  });

  it('calibration: s = 2 mean|x| / sqrt(Qp) (binary weights: Qp = 1)', () => {
    const meanAbs = mean(x.map(Math.abs));
    for (const role of ['weight', 'activation'] as const) {
      for (const bits of BITS) {
        const qp = role === 'weight' && bits === 1 ? 1 : bounds(role, bits).qp;
        const q = track(new LsqQuantizer({ bits, role }));
        q.calibrate(tf.tensor1d(x));
        expectClose(values(q.step), [(2 * meanAbs) / Math.sqrt(qp)], `${role} ${bits}-bit s`);
      }
    }
  });
});

// ---- DoReFa ----

describe('DoReFa quantizer', () => {
  const w = [-1.2, -0.7, -0.3, -0.05, 0.1, 0.4, 0.8, 1.5];
  const r = [0.4, -1.1, 0.7, 1.3, -0.2, 0.9, -0.5, 0.6];

  /** Per channel c = i mod C: y = 2 round((tanh(w) / (2 max|tanh|) + 1/2)(L - 1)) / (L - 1) - 1. */
  function weightValues(ws: number[], bits: number, channels = 1): number[] {
    const steps = 2 ** bits - 1;
    const t = ws.map(Math.tanh);
    const max = [...Array(channels).keys()].map((c) => Math.max(...t.filter((_, i) => i % channels === c).map(Math.abs)));
    return t.map((ti, i) => (2 * round((ti / (2 * max[i % channels]) + 0.5) * steps)) / steps - 1);
  }

  /**
   * Under the straight-through rounding the backward sees y = 2 (tanh(w) / (2 M) + 1/2) - 1 = tanh(w) / M with
   * M = max|tanh(w)|, so dL/dw is the gradient of f(w) = sum(r tanh(w) / M), here by central finite differences
   * in double precision (the max's path included).
   */
  function finiteDifferences(ws: number[], rs: number[], channels = 1): number[] {
    const f = (v: number[]) => {
      const t = v.map(Math.tanh);
      const max = [...Array(channels).keys()].map((c) => Math.max(...t.filter((_, i) => i % channels === c).map(Math.abs)));
      return sum(t.map((ti, i) => (rs[i] * ti) / max[i % channels]));
    };
    const h = 1e-6;
    return ws.map((_, i) => {
      const plus = ws.map((v, j) => (j === i ? v + h : v));
      const minus = ws.map((v, j) => (j === i ? v - h : v));
      return (f(plus) - f(minus)) / (2 * h);
    });
  }

  for (const bits of BITS) {
    it(`${bits}-bit weights: tanh-normalised values in [-1, 1], gradient through tanh and the max`, () => {
      const q = track(new DorefaQuantizer({ bits, role: 'weight' }));
      const got = evaluate(q, w, [2, 4], r, []);
      expectClose(got.y, weightValues(w, bits), 'y');
      if (bits === 1) expectClose(got.y, w.map((v) => (v > 0 ? 1 : -1)), '1-bit signs');
      expectClose(got.dx, finiteDifferences(w, r), 'dx', 1e-5, 1e-4);
      // The same gradient written out: r_i (1 - t_i^2) / M, and at the argmax k (w = 1.5) minus
      // sign(t_k)(1 - t_k^2) sum_j r_j t_j / M^2.
      const t = w.map(Math.tanh);
      const M = Math.tanh(1.5);
      const analytic = t.map((ti, i) => (r[i] * (1 - ti * ti)) / M - (i === 7 ? ((1 - M * M) * sum(r.map((rj, j) => rj * t[j]))) / (M * M) : 0));
      expectClose(got.dx, analytic, 'dx analytic', 1e-5, 1e-4);
    });
  }

  it('per-channel weights: the max is taken per output channel', () => {
    const wc = [-1.2, 0.3, 0.05, 0.42, -0.61, 0.7, 0.93, 0.12, -0.33, -0.27, 0.55, 0.44];
    const rc = [0.3, -1, 2, 1.1, 0.4, -0.6, 1.5, -0.2, 0.8, -1.3, 0.9, 0.5];
    const q = track(new DorefaQuantizer({ bits: 2, role: 'weight', channels: 3 }));
    const got = evaluate(q, wc, [2, 2, 1, 3], rc, []);
    expectClose(got.y, weightValues(wc, 2, 3), 'y');
    expectClose(got.dx, finiteDifferences(wc, rc, 3), 'dx', 1e-5, 1e-4);
  });

  const a = [-0.5, 0, 0.13, 0.35, 0.62, 0.8, 1, 1.4];
  for (const bits of BITS) {
    it(`${bits}-bit activations: clip to [0, 1] then quantize; STE inside [0, 1]`, () => {
      // e.g. 2 bits: clamp = [0, 0, .13, .35, .62, .8, 1, 1], *3 = [0, 0, .39, 1.05, 1.86, 2.4, 3, 3] -> [0, 0, 0, 1/3, 2/3, 2/3, 1, 1]
      const steps = 2 ** bits - 1;
      const q = track(new DorefaQuantizer({ bits, role: 'activation' }));
      const got = evaluate(q, a, [a.length], r, []);
      expectClose(got.y, a.map((v) => round(clamp(v, 0, 1) * steps) / steps), 'y');
      if (bits === 2) expectClose(got.y, [0, 0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1], 'y by hand');
      expectClose(got.dx, a.map((v, i) => (v >= 0 && v <= 1 ? r[i] : 0)), 'dx');
      expect(q.parameters()).toEqual([]);
    });
  }
});

// ---- Errors ----

describe('bit widths and the registry', () => {
  it('bits outside 1..8 (0, 9, 2.5) are a one-line error naming the bits, for every quantizer', () => {
    const makers: Array<[string, (bits: number) => unknown]> = [
      ['ewgs', (bits) => new EwgsQuantizer({ bits, role: 'weight' })],
      ['pact', (bits) => new PactQuantizer({ bits, role: 'activation' })],
      ['lsq', (bits) => new LsqQuantizer({ bits, role: 'activation' })],
      ['dorefa', (bits) => new DorefaQuantizer({ bits, role: 'weight' })],
      ...Object.entries(QUANTIZERS).flatMap(([name, family]): Array<[string, (bits: number) => unknown]> => [
        [`${name} family weight`, (bits) => family.weight(bits, undefined, {})],
        [`${name} family activation`, (bits) => family.activation(bits, {})],
      ]),
    ];
    for (const [name, make] of makers) {
      for (const bits of [0, 9, 2.5]) {
        let message = '';
        try {
          make(bits);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message, `${name} with ${bits} bits`).toMatch(new RegExp(`from 1 to 8, got ${bits.toString().replace('.', '\\.')}$`));
        expect(message).not.toContain('\n');
      }
      // 1 and 8 are accepted.
      for (const bits of [1, 8]) (make(bits) as Module).dispose();
    }
  });

  it('an unknown quantizer name lists the valid ones', () => {
    expect(() => quantizerFamily('ternary')).toThrow(/^unknown quantizer 'ternary' \(valid: ewgs, pact, lsq, dorefa, lsq-paper, or none\)$/);
    expect(Object.keys(QUANTIZERS)).toEqual(['ewgs', 'pact', 'lsq', 'dorefa', 'lsq-paper']);
    expect(quantizerFamily('ewgs').outputScale).toBe(true);
    for (const name of ['pact', 'lsq', 'dorefa', 'lsq-paper']) expect(quantizerFamily(name).outputScale).toBe(false);
    // lsq is PyTorch's learnable fake-quantize (the paper's runs), lsq-paper the LSQ paper's backward.
    for (const [name, form] of [['lsq', 'pytorch'], ['lsq-paper', 'paper']] as const) {
      const family = quantizerFamily(name);
      const quantizers = [family.weight(4, undefined, {}), family.weight(4, 3, {}), family.activation(4, {})];
      for (const q of quantizers) {
        expect(q).toBeInstanceOf(LsqQuantizer);
        expect((q as LsqQuantizer).form, name).toBe(form);
        q.dispose();
      }
    }
  });
});

// ---- Hessian-trace delta ----

/**
 * A module whose output is one EWGS quantizer's output, so a loss of it is a known function of Q(x). Bounds [0, 1]
 * for both roles: x_q is then the input rounded to 2^b levels, and a weight's output is 2 x_q - 1.
 */
class Probe extends Module {
  readonly quantizer: EwgsQuantizer;

  constructor(bits: number, role: QuantizerRole = 'activation') {
    super();
    this.quantizer = this.registerModule('quantizer', new EwgsQuantizer({ bits, role }));
    this.quantizer.lower.assign(tf.scalar(0));
    this.quantizer.upper.assign(tf.scalar(1));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.quantizer.forward(x);
  }
}

/** Activation quantizer values on [0, 1] with 2^bits levels. */
const quantized = (xs: number[], bits: number) => xs.map((v) => round(clamp(v, 0, 1) * (2 ** bits - 1)) / (2 ** bits - 1));

describe('Hessian-trace delta', () => {
  it('loss sum(c q^2): trace 2 sum(c) exactly, delta = (trace / n) / (3 std(g)) over every batch', () => {
    // H = diag(2 c), so Tr H = 2 sum(c) and every Rademacher v gives v.Hv = sum(2 c v^2) = Tr H exactly.
    const c = [0.5, 1, 1.5, 0.25, 2, 0.75, 1.25, 0.1];
    const batches = [
      [0.05, 0.31, 0.52, 0.77, 0.9, 0.13, 0.44, 0.68],
      [0.22, 0.97, 0.36, 0.58, 0.02, 0.81, 0.47, 0.66],
    ];
    const model = track(new Probe(3));
    const cTensor = tf.tensor1d(c);
    const inputs = batches.map((b) => tf.tensor1d(b));
    const losses = inputs.map((x) => () => model.forward(x).square().mul(cTensor).sum() as tf.Scalar);
    const [estimate] = updateEwgsDeltas(model, losses, { samples: 3, epsilon: 0.1, seed: 5 });
    const trace = 2 * sum(c); // = 14.7
    // g = dL/dq = 2 c q, pooled over both batches (16 values), sample std (the public code's grad.std()).
    const g = batches.flatMap((b) => quantized(b, 3).map((q, i) => 2 * c[i] * q));
    const delta = trace / c.length / (3 * std(g));
    expect(estimate.path).toBe('quantizer');
    expect(estimate.elements).toBe(8);
    expect(estimate.trace).toBeCloseTo(trace, 3);
    expect(estimate.gradientStd).toBeCloseTo(std(g), 5);
    expect(estimate.delta).toBeCloseTo(delta, 4);
    expect(model.quantizer.delta).toBe(estimate.delta);
    expect(model.quantizer.probe).toBeNull();
    tf.dispose([cTensor, ...inputs]);
  });

  it('loss 0.5 q^T A q: the Hutchinson estimate is within its own statistical error of Tr A', () => {
    // A symmetric with diagonal 1..3 and small off-diagonal terms: v.Av = Tr A + sum_{i != j} A_ij v_i v_j, whose
    // variance is 2 sum_{i != j} A_ij^2, so S samples give a standard error sqrt(2 sum_{i != j} A_ij^2 / S).
    const n = 6;
    const normal = seededNormal(11);
    const A: number[][] = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let i = 0; i < n; i++) {
      A[i][i] = 1 + (2 * i) / (n - 1);
      for (let j = 0; j < i; j++) A[i][j] = A[j][i] = f32(0.1 * normal());
    }
    const traceA = sum(A.map((row, i) => row[i])); // 1 + 1.4 + 1.8 + 2.2 + 2.6 + 3 = 12
    let offDiagonal = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) offDiagonal += A[i][j] ** 2;
    const samples = 64;
    const standardError = Math.sqrt((2 * offDiagonal) / samples);

    const xs = [0.12, 0.85, 0.4, 0.63, 0.27, 0.96];
    const model = track(new Probe(4));
    const a = tf.tensor2d(A.flat(), [n, n]);
    const x = tf.tensor1d(xs);
    const loss = () => {
      const q = model.forward(x).reshape([1, n]);
      return q.matMul(a).matMul(q.transpose()).mul(0.5).sum() as tf.Scalar;
    };
    const [estimate] = updateEwgsDeltas(model, [loss], { samples, epsilon: 0.1, seed: 3 });
    expect(Math.abs(estimate.trace - traceA)).toBeLessThan(4 * standardError + 1e-3);
    // g = A q; delta from the returned trace by the formula, clipped at 0.
    const q = quantized(xs, 4);
    const g = A.map((row) => sum(row.map((v, j) => v * q[j])));
    expect(estimate.gradientStd).toBeCloseTo(std(g), 5);
    expect(estimate.delta).toBeCloseTo(Math.max(0, estimate.trace / n / (3 * std(g))), 6);
    expect(estimate.delta).toBeGreaterThan(0);
    tf.dispose([a, x]);
  });

  it('weights: trace, gradient and delta are with respect to x_q in [0, 1], not the signed output 2 x_q - 1', () => {
    // Loss sum(c y^2) with y = 2 x_q - 1: dL/dx_q = 4 c y and d2L/dx_q^2 = 8 c, so Tr H = 8 sum(c) exactly. This is
    // the g the fused backward sees (dL/dy times dy/dx_q = 2); read at y instead (trace 2 sum(c), std of 2 c y),
    // delta would come out at half this value.
    const c = [0.5, 1, 1.5, 0.25, 2, 0.75];
    const xs = [0.05, 0.31, 0.52, 0.77, 0.9, 0.44];
    const model = track(new Probe(3, 'weight'));
    const cTensor = tf.tensor1d(c);
    const x = tf.tensor1d(xs);
    const [estimate] = updateEwgsDeltas(model, [() => model.forward(x).square().mul(cTensor).sum() as tf.Scalar],
      { samples: 3, epsilon: 0.05, seed: 9 });
    const y = quantized(xs, 3).map((q) => 2 * q - 1);
    const g = y.map((v, i) => 4 * c[i] * v);
    const trace = 8 * sum(c);
    const delta = trace / c.length / (3 * std(g));
    expect(estimate.trace).toBeCloseTo(trace, 3);
    expect(estimate.gradientStd).toBeCloseTo(std(g), 5);
    expect(estimate.delta).toBeCloseTo(delta, 4);
    const signedDelta = (2 * sum(c)) / c.length / (3 * std(y.map((v, i) => 2 * c[i] * v)));
    expect(estimate.delta / signedDelta).toBeCloseTo(2, 4);
    expect(model.quantizer.delta).toBe(estimate.delta);
    tf.dispose([cTensor, x]);
  });

  it('negative curvature (loss -sum(q^2)) gives a negative trace and delta clipped at 0', () => {
    const xs = [0.1, 0.5, 0.7, 0.9];
    const model = track(new Probe(2));
    const x = tf.tensor1d(xs);
    const [estimate] = updateEwgsDeltas(model, [() => model.forward(x).square().sum().neg() as tf.Scalar],
      { samples: 2, epsilon: 0.1, seed: 1 });
    expect(estimate.trace).toBeCloseTo(-2 * xs.length, 3);
    expect(estimate.delta).toBe(0);
    expect(model.quantizer.delta).toBe(0);
    x.dispose();
  });
});
