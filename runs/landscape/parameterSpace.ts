// The abstraction the landscape math runs on: a model's parameters as one flat vector with losses and gradients
// at the current point. The math (filterDirections.ts, hessianVector.ts, sharpness.ts) sees only this interface, so
// it is tested against closed forms on plain TypeScript losses; modelSpace.ts implements it for a tfjs model.

/** One swept tensor: its name, shape, and whether it gets a direction (a weight with filters) or zero (bias, BN, quantizer). */
export interface SweptTensor {
  name: string;
  shape: number[];
  swept: boolean;
}

/** A model's parameters as one flat vector (the concatenation of its tensors in order), with loss and gradient access. */
export interface ParameterSpace {
  tensors: SweptTensor[];
  /** Total values. */
  size: number;
  /** theta (a copy). */
  get(): Float32Array;
  /** Write theta into the model. */
  set(theta: Float32Array): void;
  /** The losses (by name, e.g. 'ce', 'kl', 'ce+kl') and top-1 at the current parameters, on the fixed evaluation subset. */
  evaluate(): Record<string, number>;
  /** One loss and its gradient with respect to the flat vector at the current parameters (zeros where not swept). */
  gradient(loss: string): { value: number; grad: Float32Array };
}

/** The layout part of a space: enough to place tensors in the flat vector. */
export type SpaceLayout = Pick<ParameterSpace, 'tensors' | 'size'>;

/** The number of values of a tensor of `shape` (1 for a scalar). */
export function elementCount(shape: number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) throw new Error(`a tensor shape [${shape.join(', ')}] with a bad dimension`);
    count *= dim;
  }
  return count;
}

/** The start offset of each tensor in the flat vector. */
export function flatOffsets(tensors: SweptTensor[]): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    offsets.push(offset);
    offset += elementCount(tensor.shape);
  }
  return offsets;
}

/** 1 on the coordinates of swept tensors, 0 elsewhere; refuses a layout whose tensors do not add up to its size. */
export function sweptMask(space: SpaceLayout): Uint8Array {
  const mask = new Uint8Array(space.size);
  let offset = 0;
  for (const tensor of space.tensors) {
    const count = elementCount(tensor.shape);
    if (offset + count > space.size) break;
    if (tensor.swept) mask.fill(1, offset, offset + count);
    offset += count;
  }
  const total = space.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
  if (total !== space.size) throw new Error(`the tensors hold ${total} values but the space has size ${space.size}`);
  return mask;
}

/** Refuses a vector whose length is not the space's size (a mismatch would silently read past tensors). */
export function checkLength(what: string, vector: ArrayLike<number>, size: number): void {
  if (vector.length !== size) throw new Error(`${what} has ${vector.length} values, the space has ${size}`);
}
