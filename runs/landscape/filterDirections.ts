// Directions in parameter space for loss landscapes. Random directions are normalised filter by filter (Li et al.,
// NeurIPS 2018, "Visualizing the Loss Landscape of Neural Nets"), so that a step of 1 moves every filter by its own
// norm and landscapes of networks with different weight scales (e.g. before and after batch norm) are comparable.
// Biases, batch norm and quantizer parameters get a zero direction ("ignore biasbn").
import { mixSeed, normalStream, uniformStream } from '../../datasets/random.ts';
import { checkLength, elementCount, flatOffsets, type SpaceLayout, sweptMask } from './parameterSpace.ts';

/** Li et al.'s guard against a zero-norm direction filter (their `d.norm() + 1e-10`). */
const FILTER_EPSILON = 1e-10;

/** Filters are slices along the last axis: tfjs stores conv kernels HWIO and dense kernels [in, out]. */
function filterCount(shape: number[]): number {
  return shape.length ? shape[shape.length - 1] : 1;
}

/** The L2 norm of each filter (slice along the last axis) of tensor `index` of `vector`. */
export function filterNorms(space: SpaceLayout, vector: Float32Array, index: number): Float64Array {
  const tensor = space.tensors[index];
  const start = flatOffsets(space.tensors)[index];
  const count = elementCount(tensor.shape);
  const filters = filterCount(tensor.shape);
  const squares = new Float64Array(filters);
  for (let i = 0; i < count; i++) squares[i % filters] += vector[start + i] * vector[start + i];
  return squares.map(Math.sqrt);
}

/**
 * A Gaussian direction with every filter of every swept tensor rescaled to the norm of theta's filter; zero on the
 * tensors that are not swept. Each tensor draws from its own stream, mixSeed(seed, tensor index), so a tensor's
 * direction does not depend on the shapes of the tensors before it. Derive the seeds of d1 and d2 with mixSeed.
 */
export function randomDirection(space: SpaceLayout, theta: Float32Array, seed: number): Float32Array {
  checkLength('theta', theta, space.size);
  sweptMask(space);
  const offsets = flatOffsets(space.tensors);
  const direction = new Float32Array(space.size);
  space.tensors.forEach((tensor, index) => {
    if (!tensor.swept) return;
    const start = offsets[index];
    const count = elementCount(tensor.shape);
    const normal = normalStream(uniformStream(mixSeed(seed, index)));
    for (let i = 0; i < count; i++) direction[start + i] = normal();
    const filters = filterCount(tensor.shape);
    const target = filterNorms(space, theta, index);
    const drawn = filterNorms(space, direction, index);
    const scale = target.map((norm, j) => norm / (drawn[j] + FILTER_EPSILON));
    for (let i = 0; i < count; i++) direction[start + i] *= scale[i % filters];
  });
  return direction;
}

/** `to - from` on the swept tensors and zero elsewhere: the line between two checkpoints. */
export function interpolationDirection(from: Float32Array, to: Float32Array, space: SpaceLayout): Float32Array {
  checkLength('from', from, space.size);
  checkLength('to', to, space.size);
  const mask = sweptMask(space);
  const direction = new Float32Array(space.size);
  for (let i = 0; i < space.size; i++) if (mask[i]) direction[i] = to[i] - from[i];
  return direction;
}
