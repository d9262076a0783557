// The built-in synthetic dataset: needs no files and is the same on every machine. Each of 10 classes has a
// smooth colour template (a few separable cosine waves); an image is its class's template at a random offset of
// up to 4 pixels and a random strength, plus a random brightness shift and per-pixel Gaussian noise. A small CNN
// learns it well above chance within an epoch, but no single pixel gives the class away (offsets, phases and noise
// blur every pixel's class-conditional distribution). Templates are mirror-symmetric left to right, so the
// horizontal flips of CIFAR-style augmentation keep an image in its class's distribution.
import type { ImageSet, Split } from './imageSet.ts';
import { mixSeed, normalStream, randomInt, uniformStream } from './random.ts';

const SEED = 20_240_517;
const SIDE = 32;
const CHANNELS = 3;
const CLASSES = 10;
const COMPONENTS = 4;
const MAX_SHIFT = 4;
const NOISE = 0.12;
const COUNTS: Record<Split, number> = { train: 5000, test: 1000 };
const SPLIT_STREAM: Record<Split, number> = { train: 1, test: 2 };

/** Pixel statistics of the generated train split (scaled to [0, 1]), measured from this generator. */
export const SYNTHETIC_MEAN = [0.4998, 0.4998, 0.4998];
export const SYNTHETIC_STD = [0.1345, 0.1362, 0.1369];

interface Component {
  fy: number;
  fx: number;
  phase: number;
  colour: number[];
}

/** A class's template: components whose weighted sum, at most 1 in magnitude, is the pattern. */
function template(label: number): { components: Component[]; scale: number } {
  const uniform = uniformStream(mixSeed(SEED, 0, label));
  const components: Component[] = [];
  for (let k = 0; k < COMPONENTS; k++) {
    const colour = [uniform() * 2 - 1, uniform() * 2 - 1, uniform() * 2 - 1];
    const norm = Math.hypot(...colour) || 1;
    components.push({
      fy: randomInt(uniform, 1, 3),
      fx: randomInt(uniform, 0, 3),
      phase: uniform() * 2 * Math.PI,
      colour: colour.map((c) => c / norm),
    });
  }
  // Normalise by the largest possible magnitude so that every class spans a similar contrast.
  return { components, scale: 1 / components.length };
}

const cache = new Map<Split, ImageSet>();

/** One split of the synthetic set (generated once per process; deterministic). */
export function loadSynthetic(split: Split): ImageSet {
  const cached = cache.get(split);
  if (cached) return cached;
  const set = generateSynthetic(split);
  cache.set(split, set);
  return set;
}

/** Generates one split afresh (loadSynthetic keeps the result; tests compare two generations). */
export function generateSynthetic(split: Split): ImageSet {
  const count = COUNTS[split];
  const templates = Array.from({ length: CLASSES }, (_, c) => template(c));
  const pixels = SIDE * SIDE * CHANNELS;
  const images = new Uint8Array(count * pixels);
  const labels = new Uint8Array(count);
  const pattern = new Float64Array(pixels);
  for (let i = 0; i < count; i++) {
    // Exactly balanced classes; the loader shuffles.
    const label = i % CLASSES;
    labels[i] = label;
    const uniform = uniformStream(mixSeed(SEED, SPLIT_STREAM[split], i));
    const normal = normalStream(uniform);
    const dy = randomInt(uniform, -MAX_SHIFT, MAX_SHIFT);
    const dx = randomInt(uniform, -MAX_SHIFT, MAX_SHIFT);
    const strength = 0.2 + 0.15 * uniform();
    const brightness = (uniform() * 2 - 1) * 0.08;
    render(templates[label], dy, dx, pattern);
    const base = i * pixels;
    for (let p = 0; p < pixels; p++) {
      const value = 0.5 + brightness + strength * pattern[p] + NOISE * normal();
      images[base + p] = Math.round(255 * Math.min(1, Math.max(0, value)));
    }
  }
  return { images, labels, count, height: SIDE, width: SIDE, channels: CHANNELS, classes: CLASSES };
}

/** Writes a template shifted by (dy, dx) into `out` (NHWC, one image). */
function render(t: { components: Component[]; scale: number }, dy: number, dx: number, out: Float64Array): void {
  out.fill(0);
  const centre = (SIDE - 1) / 2;
  for (const c of t.components) {
    const rows = Array.from({ length: SIDE }, (_, y) => Math.cos((2 * Math.PI * c.fy * (y - dy)) / SIDE + c.phase));
    // cos of the distance from the centre: symmetric under a left-right flip.
    const cols = Array.from({ length: SIDE }, (_, x) => Math.cos((2 * Math.PI * c.fx * (x - dx - centre)) / SIDE));
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const wave = rows[y] * cols[x] * t.scale;
        const o = (y * SIDE + x) * CHANNELS;
        for (let ch = 0; ch < CHANNELS; ch++) out[o + ch] += wave * c.colour[ch];
      }
    }
  }
}
